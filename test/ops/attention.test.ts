import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { SEG_CAUSAL as C, SEG_FULL as F, SEG_NOISE as Z, attentionBackward, attentionForward, checkSegments, segmentTable } from '../../src/ops/attention.js';
import type { SegMode } from '../../src/ops/attention.js';
import { runCall } from '../../src/ops/registry.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, intTensor, poisoned, randArray, sampleIndices, tensor, withThreads } from '../helpers.js';
import { attentionBackwardRef, attentionMaskRef, attentionRef, type AttnDims } from '../ref/attention.js';

const scope = new Scope();
afterEach(() => scope.dispose());

type Layout = ReadonlyArray<ReadonlyArray<readonly [number, SegMode]>>;

interface Case {
  name: string;
  layout: Layout;
  H: number;
  Hkv: number;
  hd: number;
}

// Awkward shapes: 1 token, 37 tokens, head_dim 64 and 128 (and odd multiples of 2 for the padded
// paths), GQA 4:1, 2:1 and 1:1, several segments and samples, segments longer than a 64-row tile.
// The backward runs in one pass when heads x samples >= 8 (marked 1p) and in two passes otherwise
// (2p): both are covered.
const CASES: Case[] = [
  { name: 'one token (2p)', layout: [[[1, C]]], H: 2, Hkv: 1, hd: 64 },
  { name: 'causal 37, 4:1 (2p)', layout: [[[37, C]]], H: 4, Hkv: 1, hd: 64 },
  { name: 'full 37, hd 128, 1:1 (2p)', layout: [[[37, F]]], H: 2, Hkv: 2, hd: 128 },
  {
    name: 'three samples, every mode, 2:1 (1p)',
    layout: [[[5, C], [9, F], [7, Z], [16, C]], [[1, C]], [[3, Z], [11, F], [20, C]]],
    H: 4,
    Hkv: 2,
    hd: 64,
  },
  {
    name: 'three samples, hd 128, 4:1 (1p)',
    layout: [[[5, C], [9, F], [7, Z], [16, C]], [[1, C]], [[3, Z], [11, F], [20, C]]],
    H: 4,
    Hkv: 1,
    hd: 128,
  },
  { name: 'hd 2 (2p)', layout: [[[6, F], [7, C]], [[4, Z], [5, C]]], H: 2, Hkv: 1, hd: 2 },
  { name: 'hd 18, 1:1 (2p)', layout: [[[6, F], [7, C]], [[4, Z], [5, C]]], H: 3, Hkv: 3, hd: 18 },
  { name: 'hd 40, 2:1 (1p)', layout: [[[6, F], [7, C]], [[4, Z], [5, C]]], H: 4, Hkv: 2, hd: 40 },
  { name: 'hd 256 (2p)', layout: [[[9, F], [10, C], [4, Z]]], H: 2, Hkv: 1, hd: 256 },
  {
    name: 'long segments (tiles and key blocks), edit layout (1p)',
    layout: [
      [
        [70, F],
        [33, F],
        [21, C],
        [80, C],
        [40, Z],
      ],
      [
        [17, C],
        [90, Z],
      ],
    ],
    H: 4,
    Hkv: 2,
    hd: 64,
  },
];

interface Inputs {
  d: AttnDims;
  seg: Int32Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  dout: Float64Array;
  scale: number;
}

function inputs(c: Pick<Case, 'layout' | 'H' | 'Hkv' | 'hd'>, seed: number, scale?: number): Inputs {
  const { rows, tokens: N } = segmentTable(c.layout);
  const d = { N, H: c.H, Hkv: c.Hkv, hd: c.hd };
  return {
    d,
    seg: rows,
    q: randArray(N * c.H * c.hd, seed, 2),
    k: randArray(N * c.Hkv * c.hd, seed + 1, 2),
    v: randArray(N * c.Hkv * c.hd, seed + 2),
    dout: randArray(N * c.H * c.hd, seed + 3),
    scale: scale ?? 1 / Math.sqrt(c.hd),
  };
}

function segT(rows: Int32Array): Tensor<'i32'> {
  return scope.track(intTensor(rows, [rows.length / 4, 4]));
}

/** Runs the forward on fresh tensors with poisoned outputs. */
function runForward(x: Inputs): { out: Float32Array; lse: Float32Array } {
  const { N, H, Hkv, hd } = x.d;
  const out = scope.track(poisoned([N, H, hd]));
  const lse = scope.track(poisoned([H, N]));
  attentionForward(
    scope.track(tensor(x.q, [N, H, hd])),
    scope.track(tensor(x.k, [N, Hkv, hd])),
    scope.track(tensor(x.v, [N, Hkv, hd])),
    segT(x.seg),
    out,
    lse,
    x.scale,
  );
  return { out: out.toFloat32Array(), lse: lse.toFloat32Array() };
}

/** Forward then backward (outputs poisoned before each). */
function runBoth(x: Inputs) {
  const { N, H, Hkv, hd } = x.d;
  const q = scope.track(tensor(x.q, [N, H, hd]));
  const k = scope.track(tensor(x.k, [N, Hkv, hd]));
  const v = scope.track(tensor(x.v, [N, Hkv, hd]));
  const seg = segT(x.seg);
  const out = scope.track(poisoned([N, H, hd]));
  const lse = scope.track(poisoned([H, N]));
  attentionForward(q, k, v, seg, out, lse, x.scale);
  const dq = scope.track(poisoned([N, H, hd]));
  const dk = scope.track(poisoned([N, Hkv, hd]));
  const dv = scope.track(poisoned([N, Hkv, hd]));
  attentionBackward(q, k, v, seg, out, lse, scope.track(tensor(x.dout, [N, H, hd])), dq, dk, dv, x.scale);
  return { out: out.toFloat32Array(), lse: lse.toFloat32Array(), dq: dq.toFloat32Array(), dk: dk.toFloat32Array(), dv: dv.toFloat32Array() };
}

describe('attention vs float64 reference', () => {
  it('forward: out and lse, every SIMD path, awkward shapes', () => {
    forEachSimd((level) => {
      CASES.forEach((c, ci) => {
        const x = inputs(c, 10 + ci);
        const got = runForward(x);
        const ref = attentionRef(x.q, x.k, x.v, x.seg, x.d, x.scale);
        expectClose(got.out, ref.out, { atol: 2e-5, rtol: 1e-4, name: `${level} ${c.name} out` });
        expectClose(got.lse, ref.lse, { atol: 2e-5, rtol: 1e-5, name: `${level} ${c.name} lse` });
      });
    });
  });

  it('forward with a non-default scale', () => {
    const c = CASES[3];
    const x = inputs(c, 40, 0.37);
    const got = runForward(x);
    const ref = attentionRef(x.q, x.k, x.v, x.seg, x.d, x.scale);
    expectClose(got.out, ref.out, { atol: 2e-5, name: 'scale 0.37 out' });
    expectClose(got.lse, ref.lse, { atol: 2e-5, rtol: 1e-5, name: 'scale 0.37 lse' });
  });

  it('backward: dq, dk, dv vs the analytic float64 backward, every SIMD path', () => {
    forEachSimd((level) => {
      CASES.forEach((c, ci) => {
        const x = inputs(c, 50 + ci);
        const got = runBoth(x);
        const ref = attentionBackwardRef(x.q, x.k, x.v, x.seg, x.dout, x.d, x.scale);
        expectClose(got.dq, ref.dq, { atol: 1e-4, rtol: 1e-3, name: `${level} ${c.name} dq` });
        expectClose(got.dk, ref.dk, { atol: 1e-4, rtol: 1e-3, name: `${level} ${c.name} dk` });
        expectClose(got.dv, ref.dv, { atol: 1e-4, rtol: 1e-3, name: `${level} ${c.name} dv` });
      });
    });
  });

  it('backward vs finite differences of the float64 forward (small sizes), every SIMD path', () => {
    const small: Case[] = [
      { name: 'fd 2:1 hd 8 (2p)', layout: [[[3, F], [2, Z], [4, C]], [[2, C], [3, F]]], H: 2, Hkv: 1, hd: 8 },
      { name: 'fd 1:1 hd 6 (2p)', layout: [[[4, C], [3, Z]], [[5, F]]], H: 2, Hkv: 2, hd: 6 },
      { name: 'fd 4:1 hd 6 (1p)', layout: [[[4, C], [3, Z], [2, F]], [[5, F], [1, C]]], H: 4, Hkv: 1, hd: 6 },
    ];
    forEachSimd((level) => {
      small.forEach((c, ci) => {
        const x = inputs(c, 70 + ci, 0.6);
        const got = runBoth(x);
        const loss = (q: Float64Array, k: Float64Array, v: Float64Array) => dot(attentionRef(q, k, v, x.seg, x.d, x.scale).out, x.dout);
        const check = (name: string, arr: Float64Array, g: Float32Array, f: (a: Float64Array) => number) => {
          const idx = sampleIndices(arr.length, 24, ci + 1);
          const fd = finiteDiff(f, arr, idx);
          expectClose(
            idx.map((i) => g[i]),
            fd,
            { atol: 1e-4, rtol: 1e-3, name: `${level} ${c.name} ${name} vs FD` },
          );
        };
        check('dq', x.q, got.dq, (a) => loss(a, x.k, x.v));
        check('dk', x.k, got.dk, (a) => loss(x.q, a, x.v));
        check('dv', x.v, got.dv, (a) => loss(x.q, x.k, a));
      });
    });
  });

  it('backward is bitwise identical run to run and for 1 and 2 threads (one and two passes)', () => {
    const long = CASES.find((c) => c.name.startsWith('long'))!;
    for (const c of [long, { ...long, H: 2, Hkv: 1 }, { ...long, layout: [long.layout[0]] }]) {
      const x = inputs(c, 90);
      const runs = [1, 2, 2, 1].map((t) => withThreads(t, () => runBoth(x)));
      for (const r of runs.slice(1)) {
        expect(Array.from(r.out)).toEqual(Array.from(runs[0].out));
        expect(Array.from(r.dq)).toEqual(Array.from(runs[0].dq));
        expect(Array.from(r.dk)).toEqual(Array.from(runs[0].dk));
        expect(Array.from(r.dv)).toEqual(Array.from(runs[0].dv));
      }
    }
  });

  it('async twins give the same result', async () => {
    const x = inputs(CASES[3], 95);
    const { N, H, Hkv, hd } = x.d;
    const q = scope.track(tensor(x.q, [N, H, hd]));
    const k = scope.track(tensor(x.k, [N, Hkv, hd]));
    const v = scope.track(tensor(x.v, [N, Hkv, hd]));
    const seg = segT(x.seg);
    const out = scope.track(poisoned([N, H, hd]));
    const lse = scope.track(poisoned([H, N]));
    await attentionForward.async(q, k, v, seg, out, lse, x.scale);
    const dq = scope.track(poisoned([N, H, hd]));
    const dk = scope.track(poisoned([N, Hkv, hd]));
    const dv = scope.track(poisoned([N, Hkv, hd]));
    await attentionBackward.async(q, k, v, seg, out, lse, scope.track(tensor(x.dout, [N, H, hd])), dq, dk, dv, x.scale);
    const ref = attentionBackwardRef(x.q, x.k, x.v, x.seg, x.dout, x.d, x.scale);
    expectClose(out.toFloat32Array(), attentionRef(x.q, x.k, x.v, x.seg, x.d, x.scale).out, { atol: 2e-5, name: 'async out' });
    expectClose(dq.toFloat32Array(), ref.dq, { atol: 1e-4, rtol: 1e-3, name: 'async dq' });
    expectClose(dk.toFloat32Array(), ref.dk, { atol: 1e-4, rtol: 1e-3, name: 'async dk' });
  });
});

// The mask rules, one by one, by perturbation of the kernel's inputs (no reference involved).
describe('attention mask rules (perturbation)', () => {
  // sample 0: [full 20 | causal 12 | noise 9 | causal 15 | full 7]; sample 1: [causal 30 | noise 10]
  const layout: Layout = [
    [
      [20, F],
      [12, C],
      [9, Z],
      [15, C],
      [7, F],
    ],
    [
      [30, C],
      [10, Z],
    ],
  ];
  const base = inputs({ layout, H: 4, Hkv: 2, hd: 64 }, 100);
  const { N, H, Hkv, hd } = base.d;
  const seg = base.seg;
  const rowsOf = (s: number): [number, number] => [seg[s * 4], seg[s * 4 + 1]];

  /** A copy of base with k and v of tokens [a, b) replaced by `value` (a number or NaN) or fresh randoms. */
  function perturbKV(a: number, b: number, value?: number): Inputs {
    const k = Float64Array.from(base.k);
    const v = Float64Array.from(base.v);
    const rk = randArray(k.length, 999, 3);
    const rv = randArray(v.length, 998, 3);
    for (let i = a * Hkv * hd; i < b * Hkv * hd; i++) {
      k[i] = value ?? rk[i];
      v[i] = value ?? rv[i];
    }
    return { ...base, k, v };
  }

  /** Rows of out (all heads) that differ between two forward results. */
  function changedRows(x: Float32Array, y: Float32Array): Set<number> {
    const rows = new Set<number>();
    for (let i = 0; i < N; i++)
      for (let e = 0; e < H * hd; e++) {
        const a = x[i * H * hd + e];
        const b = y[i * H * hd + e];
        if (!(a === b)) {
          rows.add(i);
          break;
        }
      }
    return rows;
  }

  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

  it('the reference mask follows the rules (spot checks)', () => {
    const m = attentionMaskRef(seg, N);
    const see = (i: number, j: number) => m[i * N + j] === 1;
    expect(see(0, 19)).toBe(true); // full: later token of its own segment
    expect(see(20, 21)).toBe(false); // causal: not a later token
    expect(see(21, 20)).toBe(true);
    expect(see(25, 5)).toBe(true); // earlier full segment
    expect(see(45, 35)).toBe(false); // noise [32, 41) invisible to a later segment
    expect(see(35, 45)).toBe(false); // and a noise segment does not see later ones
    expect(see(35, 10)).toBe(true); // noise sees earlier non-noise segments
    expect(see(70, 0)).toBe(false); // samples isolated (sample 1 starts at 63)
    expect(see(62, 0)).toBe(true);
  });

  it('every SIMD path: a noise segment is invisible to every token outside it (even as NaN)', () => {
    forEachSimd((level) => {
      const before = runForward(base).out;
      const [a, b] = rowsOf(2); // noise 9 of sample 0
      for (const value of [undefined, Number.NaN]) {
        const changed = changedRows(before, runForward(perturbKV(a, b, value)).out);
        for (const r of changed) expect(r >= a && r < b, `${level}: row ${r} changed (noise [${a}, ${b}), value ${value})`).toBe(true);
        if (value === undefined) expect(changed.size, `${level}: the noise segment's own rows change`).toBe(b - a);
      }
      // sample 1's trailing noise segment, too
      const [a1, b1] = rowsOf(6);
      const changed1 = changedRows(before, runForward(perturbKV(a1, b1)).out);
      expect([...changed1].every((r) => r >= a1 && r < b1), `${level}: trailing noise segment`).toBe(true);
    });
  });

  it('every SIMD path: samples never see each other (even as NaN)', () => {
    forEachSimd((level) => {
      const before = runForward(base).out;
      const s1 = [rowsOf(5)[0], N]; // sample 1 = [64, N)
      for (const value of [undefined, Number.NaN]) {
        // change all of sample 1 (q too): nothing in sample 0 may move
        const x = perturbKV(s1[0], s1[1], value);
        const q = Float64Array.from(base.q);
        for (let i = s1[0] * H * hd; i < N * H * hd; i++) q[i] = value ?? -q[i];
        const changed = changedRows(before, runForward({ ...x, q }).out);
        for (const r of changed) expect(r >= s1[0], `${level}: sample 0 row ${r} changed (value ${value})`).toBe(true);
        // and the other way round
        const y = perturbKV(0, s1[0], value);
        const changed0 = changedRows(before, runForward(y).out);
        for (const r of changed0) expect(r < s1[0], `${level}: sample 1 row ${r} changed (value ${value})`).toBe(true);
      }
    });
  });

  it('every SIMD path: causal tokens do not see later tokens of their segment, but see earlier ones', () => {
    forEachSimd((level) => {
      const before = runForward(base).out;
      const [a, b] = rowsOf(3); // causal 15 of sample 0, after the noise segment
      for (const t of [a, a + 5, b - 1]) {
        const changed = changedRows(before, runForward(perturbKV(t, t + 1)).out);
        // rows before t (in the segment and anywhere earlier) are untouched; t and every later row of
        // the sample that can see t do change
        for (const r of changed) expect(r >= t, `${level}: row ${r} saw later token ${t}`).toBe(true);
        const expected = range(t, b).concat(range(rowsOf(4)[0], rowsOf(4)[1]));
        for (const r of expected) expect(changed.has(r), `${level}: row ${r} should see token ${t}`).toBe(true);
      }
    });
  });

  it('every SIMD path: full segments see later tokens of their own segment', () => {
    forEachSimd((level) => {
      const before = runForward(base).out;
      const [a, b] = rowsOf(0); // full 20
      const changed = changedRows(before, runForward(perturbKV(b - 1, b)).out);
      for (const r of range(a, b)) expect(changed.has(r), `${level}: full row ${r} should see token ${b - 1}`).toBe(true);
      const [c, d] = rowsOf(4); // trailing full 7
      const changed2 = changedRows(before, runForward(perturbKV(d - 1, d)).out);
      for (const r of range(c, d)) expect(changed2.has(r), `${level}: full row ${r} should see token ${d - 1}`).toBe(true);
    });
  });

  it('every SIMD path: a segment sees every earlier non-noise segment of its sample', () => {
    forEachSimd((level) => {
      const before = runForward(base).out;
      // one token of the first full segment: every later row of sample 0 changes, sample 1 does not
      const changed = changedRows(before, runForward(perturbKV(3, 4)).out);
      for (const r of range(0, rowsOf(4)[1])) expect(changed.has(r), `${level}: row ${r} should see token 3`).toBe(true);
      for (const r of changed) expect(r < rowsOf(5)[0], `${level}: row ${r} of sample 1 saw sample 0`).toBe(true);
      // one token of the causal 12 (segment 1): the noise, the later causal and the trailing full see it
      const t = rowsOf(1)[0] + 4;
      const changed1 = changedRows(before, runForward(perturbKV(t, t + 1)).out);
      for (const r of range(t, rowsOf(4)[1])) expect(changed1.has(r), `${level}: row ${r} should see token ${t}`).toBe(true);
      for (const r of range(0, t)) expect(changed1.has(r), `${level}: row ${r} should not see token ${t}`).toBe(false);
    });
  });

  it('gradients respect the mask: nothing flows across samples or into a noise segment from outside (one and two passes)', () => {
    // H = 4 x 2 samples runs the one-pass backward, H = 2 the two-pass one
    for (const x of [base, inputs({ layout, H: 2, Hkv: 1, hd: 64 }, 101)]) {
      const { H: h, Hkv: hkv } = x.d;
      const got = runBoth(x);
      const ref = attentionBackwardRef(x.q, x.k, x.v, x.seg, x.dout, x.d, x.scale);
      expectClose(got.dk, ref.dk, { atol: 1e-4, rtol: 1e-3, name: `H${h} dk` });
      // dout only on sample 0's queries outside the noise segment: the noise segment's dk/dv and all of
      // sample 1's gradients are exactly zero
      const [na, nb] = rowsOf(2);
      const s1 = rowsOf(5)[0];
      const dout = Float64Array.from(x.dout);
      for (let i = 0; i < N; i++) if ((i >= na && i < nb) || i >= s1) for (let e = 0; e < h * hd; e++) dout[i * h * hd + e] = 0;
      const g = runBoth({ ...x, dout });
      const zero = (a: Float32Array, from: number, to: number, name: string) => {
        for (let i = from; i < to; i++) if (a[i] !== 0) throw new Error(`H${h} ${name}[${i}] = ${a[i]}, expected 0`);
      };
      zero(g.dk, na * hkv * hd, nb * hkv * hd, 'noise dk');
      zero(g.dv, na * hkv * hd, nb * hkv * hd, 'noise dv');
      zero(g.dk, s1 * hkv * hd, N * hkv * hd, 'sample 1 dk');
      zero(g.dv, s1 * hkv * hd, N * hkv * hd, 'sample 1 dv');
      zero(g.dq, s1 * h * hd, N * h * hd, 'sample 1 dq');
    }
  });
});

describe('attention argument errors', () => {
  const N = 10;
  const mk = () => ({
    q: scope.track(Tensor.zeros([N, 4, 64])),
    k: scope.track(Tensor.zeros([N, 2, 64])),
    v: scope.track(Tensor.zeros([N, 2, 64])),
    out: scope.track(Tensor.zeros([N, 4, 64])),
    lse: scope.track(Tensor.zeros([4, N])),
  });
  const seg = (rows: number[][]) => segT(Int32Array.from(rows.flat()));
  const good = [
    [0, 4, 1, 0],
    [4, 10, 0, 0],
  ];

  it('bad segment tables name the row (TypeScript check)', () => {
    const t = mk();
    const run = (rows: number[][]) => () => attentionForward(t.q, t.k, t.v, seg(rows), t.out, t.lse, 0.125);
    expect(run(good)).not.toThrow();
    expect(run([[1, 10, 0, 0]])).toThrow("attention_forward: argument 'seg' expected row 0 to start at 0, received row 0 = [1, 10, 0, 0]");
    expect(run([[0, 4, 1, 0], [5, 10, 0, 0]])).toThrow(
      "attention_forward: argument 'seg' expected row 1 to start at 4 (the previous row's end: segments are contiguous and sorted), received row 1 = [5, 10, 0, 0]",
    );
    expect(run([[0, 4, 1, 0], [4, 4, 0, 0], [4, 10, 0, 0]])).toThrow("expected row 1 to end after its start (segments are non-empty), received row 1 = [4, 4, 0, 0]");
    expect(run([[0, 4, 1, 0], [4, 12, 0, 0]])).toThrow("expected row 1 to end at or before N = 10, received row 1 = [4, 12, 0, 0]");
    expect(run([[0, 4, 3, 0], [4, 10, 0, 0]])).toThrow("expected row 0 mode 0 (causal), 1 (full) or 2 (noise), received row 0 = [0, 4, 3, 0]");
    expect(run([[0, 4, 1, -1], [4, 10, 0, 0]])).toThrow('expected row 0 sample >= 0, received row 0 = [0, 4, 1, -1]');
    expect(run([[0, 4, 1, 1], [4, 10, 0, 0]])).toThrow(
      "expected row 1 sample >= 1, the previous row's (samples are contiguous and non-decreasing), received row 1 = [4, 10, 0, 0]",
    );
    expect(run([[0, 4, 1, 0], [4, 9, 0, 0]])).toThrow('expected row 1 to end at N = 10 (segments cover [0, N)), received row 1 = [4, 9, 0, 0]');
    const empty = scope.track(Tensor.zeros([0, 4], { dtype: 'i32' }));
    expect(() => attentionForward(t.q, t.k, t.v, empty, t.out, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'seg' expected segments covering [0, 10), received an empty table",
    );
    expect(() => checkSegments('pack', [0, 5, 0, 0, 5, 3, 0, 0], 5)).toThrow("pack: argument 'seg' expected row 1 to end after its start");
    expect(() => segmentTable([[[3, C]], [[0, F]]])).toThrow("segmentTable: argument 'seg' expected row 1 to end after its start");
  });

  it('bad segment tables name the row (native adapter, TypeScript bypassed), forward and backward', () => {
    const t = mk();
    const cases: [number[][], string][] = [
      [[[0, 4, 1, 0], [5, 10, 0, 0]], "attention_forward: argument 'seg' expected row 1 to start at 4"],
      [[[0, 4, 7, 0], [4, 10, 0, 0]], "expected row 0 mode 0 (causal), 1 (full) or 2 (noise), received row 0 = [0, 4, 7, 0]"],
      [[[0, 4, 1, 2], [4, 10, 0, 1]], 'expected row 1 sample >= 2'],
      [[[0, 4, 1, 0], [4, 8, 0, 0]], 'expected row 1 to end at N = 10'],
    ];
    for (const [rows, msg] of cases) {
      let err: (Error & { code?: string }) | undefined;
      try {
        runCall('attention_forward', { tensors: [t.q, t.k, t.v, seg(rows), t.out, t.lse], floats: [0.125] });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('E_ARG');
      expect(err?.message).toContain(msg);
    }
    let err: (Error & { code?: string }) | undefined;
    try {
      const d = mk();
      runCall('attention_backward', {
        tensors: [t.q, t.k, t.v, seg([[0, 4, 1, 0], [4, 9, 0, 0], [9, 10, 5, 0]]), t.out, t.lse, d.q, d.out, d.k, d.v],
        floats: [0.125],
      });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('E_ARG');
    expect(err?.message).toBe(
      "attention_backward: argument 'seg' expected row 2 mode 0 (causal), 1 (full) or 2 (noise), received row 2 = [9, 10, 5, 0]",
    );
  });

  it('shapes, dtypes, GQA, head_dim and scale are checked, naming the argument', () => {
    const t = mk();
    const s = seg(good);
    expect(() => attentionForward(t.q, scope.track(Tensor.zeros([N, 3, 64])), t.v, s, t.out, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'k' expected shape [10, Hkv, 64] with Hkv dividing H = 4, received shape [10, 3, 64]",
    );
    expect(() => attentionForward(t.q, t.k, scope.track(Tensor.zeros([N, 2, 32])), s, t.out, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'v' expected shape [10, 2, 64], received shape [10, 2, 32]",
    );
    expect(() => attentionForward(t.q, t.k, t.v, s, t.out, scope.track(Tensor.zeros([N, 4])), 0.125)).toThrow(
      "attention_forward: argument 'lse' expected shape [4, 10], received shape [10, 4]",
    );
    const q3 = scope.track(Tensor.zeros([N, 4, 63]));
    expect(() => attentionForward(q3, t.k, t.v, s, q3, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'q' expected shape [N, H, head_dim] with an even head_dim in [2, 256], received shape [10, 4, 63]",
    );
    expect(() => attentionForward(t.q, t.k, t.v, scope.track(Tensor.zeros([2, 4])), t.out, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'seg' expected dtype i32, received f32 [2, 4]",
    );
    expect(() => attentionForward(t.q, t.k, t.v, scope.track(intTensor([0, 10, 1, 0, 0], [1, 5])), t.out, t.lse, 0.125)).toThrow(
      "attention_forward: argument 'seg' expected shape [*, 4], received shape [1, 5]",
    );
    expect(() => attentionForward(t.q, t.k, t.v, s, t.out, t.lse, Number.NaN)).toThrow(
      "attention_forward: argument 'scale' expected a finite number > 0, received NaN",
    );
    expect(() => attentionBackward(t.q, t.k, t.v, s, t.out, t.lse, t.out, t.out, t.out, t.v, 0.125)).toThrow(
      "attention_backward: argument 'dk' expected shape [10, 2, 64], received shape [10, 4, 64]",
    );
    // the native adapter re-checks shapes too
    let err: (Error & { code?: string }) | undefined;
    try {
      runCall('attention_forward', { tensors: [t.q, t.k, t.v, s, t.out, scope.track(Tensor.zeros([N, 4]))], floats: [0.125] });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('E_SHAPE');
    expect(err?.message).toBe("attention_forward: argument 'lse' expected shape [4, 10], received [10, 4]");
  });
});
