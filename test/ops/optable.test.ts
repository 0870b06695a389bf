import { describe, expect, it } from 'vitest';

import { loadBackend } from '../../src/native/loader.js';
import { Tensor } from '../../src/native/tensor.js';
import { listOps, runCall } from '../../src/ops/registry.js';
import { expectClose, withThreads } from '../helpers.js';
import { OP_CASES, type OpCase } from './optable.js';

const ops = listOps();
const backend = loadBackend();
const cudaReason = backend.device === 'cuda' ? '' : backend.fallbackReasons.join('; ');

function disposeCase(c: OpCase): void {
  for (const t of c.tensors) t.dispose();
}

function build(name: string): OpCase {
  const c = OP_CASES[name]();
  const prep = (c as OpCase & { prepare?: string }).prepare;
  if (prep) {
    // run the producing op first on the shared leading tensors (e.g. attention forward -> out, lse)
    const p = OP_CASES[prep]();
    const n = p.tensors.length;
    for (let i = 0; i < n; i++) {
      p.tensors[i].dispose();
      p.tensors[i] = c.tensors[i];
    }
    runCall(prep, p);
  }
  return c;
}

function poison(c: OpCase): void {
  for (const i of c.outputs) {
    if (c.accumulates?.includes(i)) continue;
    const t = c.tensors[i];
    if (t.dtype === 'f32') t.upload(new Float32Array(t.numel).fill(Number.NaN) as never);
  }
}

describe('op table', () => {
  it('every native op has a test entry (adding an op = one entry in test/ops/optable.ts)', () => {
    const missing = ops.map((o) => o.name).filter((n) => !(n in OP_CASES));
    expect(missing).toEqual([]);
  });

  for (const op of ops) {
    it(`${op.name}: CPU writes every output element, all finite`, () => {
      const c = build(op.name);
      try {
        poison(c);
        runCall(op.name, c);
        for (const i of c.outputs) {
          const v = c.tensors[i].download() as Float32Array;
          const bad = v.findIndex((x) => !Number.isFinite(x));
          expect(bad, `${op.name}: output ${i} element ${bad} is ${v[bad]}`).toBe(-1);
        }
      } finally {
        disposeCase(c);
      }
    });
  }
});

describe('one thread vs all threads', () => {
  // A serial region hands a kernel the whole range in one call (METACOT_THREADS=1, a 1-core machine,
  // a nested region): every op must give the same answer that way as split across the pool.
  for (const op of ops) {
    it(`${op.name}: same outputs with 1 thread and with the pool`, () => {
      const outs: Float32Array[][] = [];
      for (const threads of [1, backend.info.maxThreads]) {
        const c = build(op.name);
        try {
          poison(c);
          withThreads(threads, () => runCall(op.name, c));
          outs.push(c.outputs.map((i) => c.tensors[i].download() as Float32Array));
        } finally {
          disposeCase(c);
        }
      }
      outs[0].forEach((a, k) => expectClose(a, outs[1][k], { atol: 1e-5, rtol: 1e-5, name: `${op.name} output ${k}` }));
    });
  }
});

describe.skipIf(backend.device !== 'cuda')(
  `CUDA vs CPU parity${backend.device === 'cuda' ? ` on ${backend.info.cuda.device}` : ` (skipped: ${cudaReason})`}`,
  () => {
    for (const op of ops) {
      it.skipIf(!op.cuda)(`${op.name}${op.cuda ? '' : ' (no CUDA kernel yet)'}`, () => {
        const cpu = build(op.name);
        const gpuTensors = cpu.tensors.map((t) => Tensor.from(t.download() as Float32Array, t.shape, { device: 'cuda', dtype: t.dtype }));
        const gpu: OpCase = { ...cpu, tensors: gpuTensors };
        try {
          poison(cpu);
          poison(gpu);
          runCall(op.name, cpu);
          runCall(op.name, gpu);
          for (const i of cpu.outputs) {
            const a = gpu.tensors[i].download() as Float32Array;
            const b = cpu.tensors[i].download() as Float32Array;
            expectClose(a, b, { atol: cpu.atol ?? 1e-5, rtol: cpu.rtol ?? 1e-4, name: `${op.name} output ${i} cuda vs cpu` });
          }
        } finally {
          disposeCase(cpu);
          disposeCase(gpu);
        }
      });
    }
  },
);
