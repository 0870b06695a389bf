import { describe, expect, it } from 'vitest';

import { checkParity, parityCases } from '../../src/check/parity.js';
import { loadBackend } from '../../src/native/loader.js';
import { OP_CASES, type OpCase, disposeCase, poisonOutputs, prepareCase } from '../../src/ops/cases.js';
import { listOps, runCall } from '../../src/ops/registry.js';
import { expectClose, withThreads } from '../helpers.js';

const ops = listOps();
const backend = loadBackend();
const cudaReason = backend.device === 'cuda' ? '' : backend.fallbackReasons.join('; ');
const cases = parityCases();

const build = (c: { build: () => OpCase }): OpCase => prepareCase(c.build(), runCall);

describe('op table', () => {
  it('every native op has a case (adding an op = one entry in src/ops/cases.ts)', () => {
    const missing = ops.map((o) => o.name).filter((n) => !(n in OP_CASES));
    expect(missing).toEqual([]);
  });

  for (const pc of cases) {
    it(`${pc.op} (${pc.label}): CPU writes every output element, all finite`, () => {
      const c = build(pc);
      try {
        poisonOutputs(c);
        runCall(pc.op, c);
        for (const i of c.outputs) {
          const v = c.tensors[i].download() as Float32Array;
          const bad = v.findIndex((x) => !Number.isFinite(x));
          expect(bad, `${pc.op}: output ${i} element ${bad} is ${v[bad]}`).toBe(-1);
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
        const c = build({ build: OP_CASES[op.name] });
        try {
          poisonOutputs(c);
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
    for (const pc of cases) {
      const op = ops.find((o) => o.name === pc.op);
      it.skipIf(!op?.cuda)(`${pc.op} (${pc.label})${op?.cuda ? '' : ': no CUDA kernel yet'}`, () => {
        const r = checkParity(pc.op, pc.label, pc.build);
        expect(r.status, r.reason).toBe('pass');
      });
    }
  },
);
