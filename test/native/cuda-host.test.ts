// The host checks of the CUDA kernels (test/cuda-host/*.cu): each file includes a kernel source and
// checks its __host__ __device__ index arithmetic (GEMM tile order, staging, fragment offsets and
// epilogue; the attention plan, masks and key walks) on the CPU, so that it is verified on every run,
// GPU or not. Compiled with the nvcc that the addon build uses (scripts/find-nvcc.mjs), as PTX only
// (compute_80: the bf16 WMMA types need sm_80; no device code runs), both files at once. Skipped, with
// the reason in its name, where nvcc is not found.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findNvcc } from '../../scripts/find-nvcc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const srcDir = join(root, 'test', 'cuda-host');
const files = readdirSync(srcDir)
  .filter((f) => f.endsWith('.cu'))
  .sort();
const nvcc = findNvcc();
const skipped = nvcc ? '' : ' (skipped: nvcc not found; set CUDACXX or CUDA_HOME)';

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to completion (never rejects: a spawn error is reported as the output). */
function run(cmd: string, args: string[], timeoutMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', (e) => resolve({ code: null, signal: null, output: `${output}${String(e)}` }));
    p.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

const exeOf = (dir: string, file: string) => join(dir, file.replace(/\.cu$/, ''));

describe('CUDA kernels: host checks of the index arithmetic', () => {
  let dir = '';
  const builds = new Map<string, Promise<Result>>();

  beforeAll(() => {
    if (!nvcc) return;
    dir = mkdtempSync(join(tmpdir(), 'metacot-cuda-host-'));
    // Started together, awaited by each file's test.
    for (const f of files) {
      const args = ['-std=c++17', '-O2', '--expt-relaxed-constexpr', '-DMETACOT_WITH_CUDA'];
      args.push('-gencode=arch=compute_80,code=compute_80', '-I', 'kernels');
      args.push('-o', exeOf(dir, f), join('test', 'cuda-host', f));
      builds.set(f, run(nvcc, args, 170_000));
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the host checks', () => {
    expect(files).toEqual(expect.arrayContaining(['attention_plan.cu', 'gemm_index.cu']));
  });

  for (const f of files) {
    const name = f.replace(/\.cu$/, '');
    it.skipIf(!nvcc)(
      `${f} compiles with nvcc and passes${skipped}`,
      async () => {
        const b = await builds.get(f)!;
        expect(b.code, `nvcc ${f} failed (${b.code ?? b.signal}):\n${b.output}`).toBe(0);
        const r = await run(exeOf(dir, f), [], 60_000);
        expect(r.code, `${f} failed (exit ${r.code ?? r.signal}):\n${r.output}`).toBe(0);
        expect(r.output).toMatch(new RegExp(`^${name}: ok, \\d+ checks`, 'm'));
      },
      180_000,
    );
  }
});
