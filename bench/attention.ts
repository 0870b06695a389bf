// npm run bench -- attention [--hd=64,128] [--threads=N] [--quick]
// Packed-segment attention forward, backward and forward+backward, ours (kernels/attention) vs PyTorch CPU
// (bench/peers/attention_torch.py: dense boolean mask through torch's scaled-dot-product attention or
// the masked_fill + softmax math path, whichever is faster), at the tiny model's shape: N = 512 tokens
// packed as 2 samples of [full 64 | full 64 | causal 32 | causal 48 | noise 48], H = 4, Hkv = 2.
// Both sides get the same inputs (written to a file here, read by the peer) and the same thread
// count; the peer also returns its out/dq/dk/dv, and the rows' notes give max |ours - torch|.
// Times: the minimum over repeated calls on both sides (shared machines; see minMs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadBackend } from '../src/native/loader.js';
import { Tensor } from '../src/native/tensor.js';
import { SEG_CAUSAL, SEG_FULL, SEG_NOISE, attentionBackward, attentionForward, segmentTable } from '../src/ops/attention.js';
import { type BenchOptions, type BenchRow, ratioLower } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's python3-torch lives in the system interpreter

const SAMPLE = [
  [64, SEG_FULL],
  [64, SEG_FULL],
  [32, SEG_CAUSAL],
  [48, SEG_CAUSAL],
  [48, SEG_NOISE],
] as const;

/** seeded normal(0, 1) floats (mulberry32 + Box-Muller) */
function randn(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** Fastest of `reps` calls after warm-up, in ms. The machines are shared and noisy: the minimum is the
 * figure least disturbed by other load, and the peer reports the same statistic. */
function minMs(fn: () => void, reps: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN wins
  }
  return m;
}

interface PeerResult {
  fwd_ms: number;
  fwdbwd_ms: number;
  bwd_ms: number;
  fwd_path: string;
  fwdbwd_path: string;
  bwd_path: string;
  torch: string;
  threads: number;
  sdpa: string | null;
  paths: Record<string, { fwd_ms: number; fwdbwd_ms: number; bwd_ms: number }>;
}

function runPeer(args: string[], threads: number): { result: PeerResult | null; reason: string } {
  // The peer gets OpenBLAS at its best: these machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
  // which hold it back, so they are unset for the peer's process only. Its thread count is ours:
  // torch.set_num_threads for ATen, and the BLAS / OpenMP pools pinned to the same number.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(PYTHON, [join(here, 'peers', 'attention_torch.py'), ...args], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.error) return { result: null, reason: `${PYTHON} not runnable: ${r.error.message}` };
  if (r.status !== 0) {
    const err = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
    return { result: null, reason: /No module named 'torch'/.test(r.stderr) ? 'PyTorch missing (apt-get install python3-torch)' : `peer failed: ${err}` };
  }
  try {
    return { result: JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as PeerResult, reason: '' };
  } catch {
    return { result: null, reason: `peer printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const hdArg = opts.args.find((a) => a.startsWith('--hd='));
  const hds = hdArg ? hdArg.slice(5).split(',').map(Number) : [64, 128];
  const reps = opts.quick ? 10 : 200;
  const peerReps = opts.quick ? 5 : 50;
  const binding = loadBackend().binding;
  const thArg = opts.args.find((a) => a.startsWith('--threads='));
  const threadsBefore = binding.info().threads;
  if (thArg) binding.setThreads(Number(thArg.slice(10)));
  const threads = binding.info().threads;
  const { rows: segRows, tokens: N } = segmentTable([SAMPLE, SAMPLE]);
  const H = 4;
  const Hkv = 2;
  const segJson = JSON.stringify(Array.from({ length: segRows.length / 4 }, (_, s) => Array.from(segRows.subarray(s * 4, s * 4 + 4))));
  const dir = mkdtempSync(join(tmpdir(), 'metacot-attn-'));
  const rows: BenchRow[] = [];
  try {
    for (const hd of hds) {
      const scale = 1 / Math.sqrt(hd);
      const qa = randn(N * H * hd, 1);
      const ka = randn(N * Hkv * hd, 2);
      const va = randn(N * Hkv * hd, 3);
      const da = randn(N * H * hd, 4);
      using q = Tensor.from(qa, [N, H, hd]);
      using k = Tensor.from(ka, [N, Hkv, hd]);
      using v = Tensor.from(va, [N, Hkv, hd]);
      using dout = Tensor.from(da, [N, H, hd]);
      using seg = Tensor.from(segRows, [segRows.length / 4, 4]);
      using out = Tensor.zeros([N, H, hd]);
      using lse = Tensor.zeros([H, N]);
      using dq = Tensor.zeros([N, H, hd]);
      using dk = Tensor.zeros([N, Hkv, hd]);
      using dv = Tensor.zeros([N, Hkv, hd]);
      const fwd = () => attentionForward(q, k, v, seg, out, lse, scale);
      const bwd = () => attentionBackward(q, k, v, seg, out, lse, dout, dq, dk, dv, scale);
      const oursFwd = minMs(fwd, reps, 5);
      const oursFb = minMs(() => {
        fwd();
        bwd();
      }, reps, 5);
      fwd();
      const oursB = minMs(bwd, reps, 5);

      // the peer, on the same inputs
      const inFile = join(dir, `in-${hd}.bin`);
      const outFile = join(dir, `out-${hd}.bin`);
      const all = new Float32Array(qa.length + ka.length + va.length + da.length);
      all.set(qa, 0);
      all.set(ka, qa.length);
      all.set(va, qa.length + ka.length);
      all.set(da, qa.length + ka.length + va.length);
      writeFileSync(inFile, Buffer.from(all.buffer));
      const { result: peer, reason } = runPeer([
        `--n=${N}`,
        `--h=${H}`,
        `--hkv=${Hkv}`,
        `--hd=${hd}`,
        `--scale=${scale}`,
        `--seg=${segJson}`,
        `--inputs=${inFile}`,
        `--outputs=${outFile}`,
        `--threads=${threads}`,
        `--reps=${peerReps}`,
      ], threads);
      let diffNote = '';
      if (peer) {
        const buf = readFileSync(outFile);
        const t = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const nq = N * H * hd;
        const nk = N * Hkv * hd;
        const d = {
          out: maxAbsDiff(out.toFloat32Array(), t.subarray(0, nq)),
          dq: maxAbsDiff(dq.toFloat32Array(), t.subarray(nq, 2 * nq)),
          dk: maxAbsDiff(dk.toFloat32Array(), t.subarray(2 * nq, 2 * nq + nk)),
          dv: maxAbsDiff(dv.toFloat32Array(), t.subarray(2 * nq + nk, 2 * nq + 2 * nk)),
        };
        diffNote = `max|ours-torch| out ${d.out.toExponential(1)} dq ${d.dq.toExponential(1)} dk ${d.dk.toExponential(1)} dv ${d.dv.toExponential(1)}`;
        console.log(`attention hd ${hd}: ${diffNote}; torch ${peer.torch} (${peer.sdpa ?? 'no sdpa'}), ${peer.threads} threads, paths ${JSON.stringify(peer.paths)}`);
        if (Math.max(d.out, d.dq, d.dk, d.dv) > 1e-3 || Object.values(d).some(Number.isNaN))
          console.warn(`attention hd ${hd}: ours and torch DISAGREE (${diffNote})`);
      }
      const shape = `N${N} H${H}/${Hkv} hd${hd}`;
      const note = (path: string | undefined) => (peer ? `torch ${path}; ${threads} threads; ${diffNote}` : reason);
      rows.push({ name: `fwd ${shape}`, ours: oursFwd, peer: peer?.fwd_ms ?? null, unit: 'ms', ratio: ratioLower(oursFwd, peer?.fwd_ms ?? null), note: note(peer?.fwd_path) });
      rows.push({
        name: `fwd+bwd ${shape}`,
        ours: oursFb,
        peer: peer?.fwdbwd_ms ?? null,
        unit: 'ms',
        ratio: ratioLower(oursFb, peer?.fwdbwd_ms ?? null),
        note: note(peer?.fwdbwd_path),
      });
      rows.push({ name: `bwd ${shape}`, ours: oursB, peer: peer?.bwd_ms ?? null, unit: 'ms', ratio: ratioLower(oursB, peer?.bwd_ms ?? null), note: note(peer?.bwd_path) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    binding.setThreads(threadsBefore);
  }
  return rows;
}
