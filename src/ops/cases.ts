// One entry per op of the native table (ggml test-backend-ops style): how to build a small, awkward
// call and which tensors it writes. test/ops/optable.test.ts checks that every op has an entry, runs
// each on the CPU with poisoned outputs (every output element must be written, finite), and on a
// CUDA device compares every op against the CPU backend; `metacot check` (src/check/) runs the same
// cases on a GPU machine without the test runner. Adding an op = one entry here.
import { mulberry32 } from '../model/synthetic-batch.js';
import { Tensor } from '../native/tensor.js';

function randArray(n: number, seed: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround((r() * 2 - 1) * scale);
  return out;
}

function randInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const r = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

export interface OpCase {
  tensors: Tensor[];
  ints: number[];
  floats: number[];
  /** indices into tensors that the op writes */
  outputs: number[];
  /** outputs that accumulate (their initial content is read, so they are not poisoned) */
  accumulates?: number[];
  /** parity tolerance CUDA vs CPU, per element: |cuda - cpu| <= atol + rtol * |cpu| */
  atol?: number;
  rtol?: number;
  /**
   * Ops whose CUDA kernel computes in bf16 on the tensor cores (fp32 accumulation): the per-element
   * test is replaced by the norm test ||cuda - cpu|| / ||cpu|| <= relNorm (METHOD: bf16 operands land
   * between 1e-3 and 1e-2), plus the usual every-element-written and finite checks.
   */
  relNorm?: number;
  /** an op run first on some of this case's tensors to produce consistent inputs (attention_backward: the forward) */
  prepare?: { op: string; tensors: number[]; ints?: number[]; floats?: number[] };
}

const f = (n: number, seed: number, shape: number[], scale = 1): Tensor =>
  Tensor.from(Float32Array.from(randArray(n, seed, scale)), shape);
const zeros = (shape: number[]): Tensor => Tensor.zeros(shape);
const ints = (a: ArrayLike<number>): Tensor => Tensor.from(Int32Array.from(a as ArrayLike<number>), [a.length]);

// A packed batch of two samples: [full 5 | causal 7 | noise 6] [full 4 | causal 9 | noise 6]
const SEG = [
  [0, 5, 1, 0],
  [5, 12, 0, 0],
  [12, 18, 2, 0],
  [18, 22, 1, 1],
  [22, 31, 0, 1],
  [31, 37, 2, 1],
];
const segTensor = (): Tensor => Tensor.from(Int32Array.from(SEG.flat()), [SEG.length, 4]);

const FLOW_OFFSETS = (rows: number): number[] => [0, 5, 12, 12, rows];

/** A flow_step call over four samples with per-sample timesteps (one per mode and logpOnly). */
function flowCase(mode: 'ode' | 'sde' | 'cps', logpOnly: boolean, rows: number, C = 16): OpCase {
  const n = rows * C;
  return {
    tensors: [
      f(n, 60, [rows, C]), f(n, 61, [rows, C]), f(n, 62, [rows, C]), logpOnly ? f(n, 63, [rows, C]) : zeros([rows, C]), zeros([rows, C]),
      ints(FLOW_OFFSETS(rows)), Tensor.from(Float32Array.from([1, 0.8, 0.6, 0.35]), [4]), Tensor.from(Float32Array.from([0.9, 0.6, 0.5, 0.05]), [4]),
      zeros([4]), zeros([4]),
    ],
    ints: [{ ode: 0, sde: 1, cps: 2 }[mode], logpOnly ? 1 : 0],
    floats: [mode === 'cps' ? 0.7 : 1.3, 0.9],
    outputs: logpOnly ? [4, 8, 9] : [3, 4, 8, 9],
    atol: 1e-5,
    rtol: 1e-5,
  };
}

/** A grpo_loss call over four samples (the flow_step case's layout), with or without the KL term. */
function grpoCase(mode: 'sde' | 'cps', beta: number, rows: number, C = 16): OpCase {
  const n = rows * C;
  return {
    tensors: [
      f(n, 80, [rows, C]), f(n, 81, [rows, C]), f(n, 82, [rows, C]), f(n, 83, [rows, C]),
      ints([0, 5, 12, 13, rows]), Tensor.from(Float32Array.from([1, 0.8, 0.6, 0.35]), [4]), Tensor.from(Float32Array.from([0.9, 0.6, 0.5, 0.05]), [4]),
      Tensor.from(Float32Array.from([-1.2, -0.9, -2.5, -1.1]), [4]), Tensor.from(Float32Array.from([1.5, -0.5, 0.7, -2]), [4]),
      zeros([rows, C]), zeros([4]), zeros([5]),
    ],
    ints: [mode === 'sde' ? 1 : 2],
    floats: [mode === 'cps' ? 0.7 : 1.3, 0.9, 0.2, beta],
    outputs: [9, 10, 11],
    atol: 1e-4,
    rtol: 1e-4,
  };
}

export const OP_CASES: Record<string, () => OpCase> = {
  fill: () => ({ tensors: [zeros([37, 129])], ints: [], floats: [1.5], outputs: [0] }),
  add: () => ({ tensors: [f(4773, 1, [37, 129]), f(4773, 2, [37, 129]), zeros([37, 129])], ints: [], floats: [0.5, 2], outputs: [2] }),
  randn: () => ({ tensors: [zeros([37, 129])], ints: [7, 3], floats: [0, 1], outputs: [0], atol: 1e-4 }),
  silu_forward: () => ({ tensors: [f(4773, 3, [37, 129], 4), zeros([37, 129])], ints: [], floats: [], outputs: [1] }),
  silu_backward: () => ({ tensors: [f(4773, 3, [37, 129], 4), f(4773, 4, [37, 129]), zeros([37, 129])], ints: [0], floats: [], outputs: [2] }),
  bias_add: () => ({ tensors: [f(4773, 5, [37, 129]), f(129, 6, [129]), zeros([37, 129])], ints: [], floats: [], outputs: [2] }),
  bias_grad: () => ({ tensors: [f(4773, 7, [37, 129]), zeros([129])], ints: [0], floats: [], outputs: [1], atol: 1e-4 }),
  gemm: () => ({
    tensors: [f(37 * 129, 8, [37, 129]), f(129 * 65, 9, [129, 65]), zeros([37, 65])],
    ints: [0, 0, 37, 65, 129, 1, 0, 0, 0],
    floats: [1, 0],
    outputs: [2],
    atol: 1e-3,
    relNorm: 1e-2,
  }),
  gemm_grouped: () => ({
    // two experts' projections (x W^T) over 23 and 14 routed rows, and an empty third group
    tensors: [f(23 * 65, 50, [23, 65]), f(14 * 65, 51, [14, 65]), zeros([0, 65]), f(33 * 65, 52, [33, 65]), f(33 * 65, 53, [33, 65]), f(33 * 65, 54, [33, 65]), zeros([23, 33]), zeros([14, 33]), zeros([0, 33])],
    ints: [3, 0, 1, 23, 14, 0, 33, 33, 33, 65, 65, 65],
    floats: [1, 0],
    outputs: [6, 7],
    atol: 1e-3,
    relNorm: 1e-2,
  }),
  rmsnorm_forward: () => ({ tensors: [f(4773, 10, [37, 129]), f(129, 11, [129]), zeros([37, 129]), zeros([37])], ints: [], floats: [1e-6], outputs: [2, 3] }),
  rmsnorm_backward: () => {
    const x = f(4773, 10, [37, 129]);
    const rstd = zeros([37]);
    // rstd as the forward would produce it
    const xv = x.toFloat32Array();
    const r = rstd.toFloat32Array();
    for (let i = 0; i < 37; i++) {
      let s = 0;
      for (let j = 0; j < 129; j++) s += xv[i * 129 + j] ** 2;
      r[i] = 1 / Math.sqrt(s / 129 + 1e-6);
    }
    rstd.upload(r);
    return { tensors: [x, f(129, 11, [129]), rstd, f(4773, 12, [37, 129]), zeros([37, 129]), zeros([129])], ints: [0], floats: [], outputs: [4, 5], atol: 1e-4 };
  },
  rope_forward: () => ({ tensors: [f(37 * 4 * 64, 13, [37, 4, 64]), ints(randInts(37, 14, 0, 500)), zeros([37, 4, 64])], ints: [], floats: [10000], outputs: [2], atol: 1e-4 }),
  rope_backward: () => ({ tensors: [f(37 * 4 * 64, 15, [37, 4, 64]), ints(randInts(37, 16, 0, 500)), zeros([37, 4, 64])], ints: [], floats: [10000], outputs: [2], atol: 1e-4 }),
  attention_forward: () => ({
    tensors: [f(37 * 4 * 64, 17, [37, 4, 64]), f(37 * 2 * 64, 18, [37, 2, 64]), f(37 * 2 * 64, 19, [37, 2, 64]), segTensor(), zeros([37, 4, 64]), zeros([4, 37])],
    ints: [],
    floats: [0.125],
    outputs: [4, 5],
    atol: 1e-4,
    relNorm: 1e-2,
  }),
  attention_backward: () => {
    // out and lse from the forward first (prepare), so the backward sees consistent inputs
    const c = OP_CASES.attention_forward();
    return {
      tensors: [...c.tensors, f(37 * 4 * 64, 20, [37, 4, 64]), zeros([37, 4, 64]), zeros([37, 2, 64]), zeros([37, 2, 64])],
      ints: [],
      floats: [0.125],
      outputs: [7, 8, 9],
      atol: 1e-4,
      relNorm: 2e-2,
      prepare: { op: 'attention_forward', tensors: [0, 1, 2, 3, 4, 5], floats: [0.125] },
    };
  },
  swiglu_forward: () => ({ tensors: [f(4773, 21, [37, 129], 3), f(4773, 22, [37, 129]), zeros([37, 129])], ints: [], floats: [], outputs: [2] }),
  swiglu_backward: () => ({
    tensors: [f(4773, 21, [37, 129], 3), f(4773, 22, [37, 129]), f(4773, 23, [37, 129]), zeros([37, 129]), zeros([37, 129])],
    ints: [],
    floats: [],
    outputs: [3, 4],
  }),
  embedding_forward: () => ({ tensors: [ints(randInts(37, 24, 0, 50)), f(50 * 129, 25, [50, 129]), zeros([37, 129])], ints: [], floats: [], outputs: [2] }),
  embedding_backward: () => ({
    tensors: [ints(randInts(37, 26, 0, 50)), f(37 * 129, 27, [37, 129]), zeros([50, 129])],
    ints: [],
    floats: [],
    outputs: [2],
    accumulates: [2],
    atol: 1e-4,
  }),
  cross_entropy: () => {
    const t = randInts(37, 28, 0, 129);
    t[3] = -1; // an ignored row
    return { tensors: [f(4773, 29, [37, 129], 5), ints(t), zeros([37]), zeros([37, 129])], ints: [], floats: [1 / 36], outputs: [2, 3], atol: 1e-4 };
  },
  mse_forward: () => {
    const mask = new Float32Array(37).map((_, i) => (i % 3 === 0 ? 0 : 1));
    return { tensors: [f(4773, 30, [37, 129]), f(4773, 31, [37, 129]), Tensor.from(mask, [37]), zeros([1])], ints: [], floats: [], outputs: [3], atol: 1e-4 };
  },
  mse_backward: () => {
    const mask = new Float32Array(37).map((_, i) => (i % 3 === 0 ? 0 : 1));
    return { tensors: [f(4773, 30, [37, 129]), f(4773, 31, [37, 129]), Tensor.from(mask, [37]), zeros([37, 129])], ints: [], floats: [1], outputs: [3] };
  },
  adamw: () => ({
    // two params: [37,129] with decay, [129] without
    tensors: [
      f(4773, 32, [37, 129]),
      f(129, 33, [129]),
      f(4773, 34, [37, 129]),
      f(129, 35, [129]),
      zeros([37, 129]),
      zeros([129]),
      zeros([37, 129]),
      zeros([129]),
      zeros([1]),
    ],
    ints: [2, 1, 1, 0],
    floats: [1e-3, 0.9, 0.95, 1e-8, 0.1, 1.0],
    outputs: [0, 1, 4, 5, 6, 7, 8],
    accumulates: [0, 1, 4, 5, 6, 7],
    atol: 1e-5,
  }),
  cfg_combine: () => ({
    tensors: [f(4773, 40, [37, 129]), f(4773, 41, [37, 129]), f(4773, 42, [37, 129]), zeros([37, 129])],
    ints: [2],
    floats: [4, 2, 0],
    outputs: [3],
    atol: 1e-5,
  }),
  // four samples of 5, 7, 0 and 25 rows; the first starts at pure noise (sigma 1 -> sigmaMax)
  flow_step: () => flowCase('sde', false, 37),
  flow_noise: () => ({ tensors: [zeros([37, 16]), ints(FLOW_OFFSETS(37)), ints([3, -1, 9, 2 ** 30])], ints: [2026, 4], floats: [], outputs: [0], atol: 1e-5 }),
  // 5 groups over 37 rewards: one all-equal, one single rollout
  grpo_advantages: () => ({
    tensors: [
      Tensor.from(Float32Array.from(randArray(37, 70).map((r, i) => (i >= 30 && i < 34 ? 0.25 : r))), [37]),
      ints(Array.from({ length: 37 }, (_, i) => (i < 12 ? 0 : i < 30 ? 1 : i < 34 ? 2 : i < 35 ? 3 : 4))),
      zeros([37]),
      Tensor.zeros([37], { dtype: 'i32' }),
      zeros([4]),
    ],
    ints: [5, 0],
    floats: [1e-4, 5, 0],
    outputs: [2, 3, 4],
    atol: 1e-5,
    rtol: 1e-5,
  }),
  grpo_loss: () => grpoCase('sde', 0, 37),
  timestep_embedding: () => ({ tensors: [Tensor.from(Float32Array.from(randArray(37, 36).map((v) => Math.abs(v))), [37]), zeros([37, 256])], ints: [], floats: [10000], outputs: [1], atol: 1e-4 }),
};

/**
 * Larger and odd-shaped calls of the ops whose CUDA kernels tile (GEMM, attention): several tiles,
 * ragged edges, transposes, batches, GQA, every segment mode across tile borders, head dims on and off
 * the tensor-core path. The small OP_CASES fit in one tile; these do not.
 */
export const EXTRA_CASES: { op: string; label: string; build: () => OpCase }[] = [
  { op: 'grpo_loss', label: 'cps with KL, 4 samples of 4000 rows in all', build: () => grpoCase('cps', 0.5, 4000) },
  { op: 'grpo_loss', label: 'sde with KL, 4 samples of 4000 rows in all', build: () => grpoCase('sde', 0.1, 4000) },
  ...(
    [
      ['ode', false],
      ['cps', false],
      ['sde', true],
      ['cps', true],
    ] as const
  ).map(([mode, logpOnly]) => ({ op: 'flow_step', label: `${mode}${logpOnly ? ', logpOnly' : ''}, 4 samples of 4000 rows in all`, build: () => flowCase(mode, logpOnly, 4000) })),
  { op: 'flow_noise', label: '4 samples of 4000 rows in all', build: (): OpCase => ({ tensors: [zeros([4000, 16]), ints(FLOW_OFFSETS(4000)), ints([3, -1, 9, 2 ** 30])], ints: [7, 0], floats: [], outputs: [0], atol: 1e-5 }) },
  ...(
    [
      [false, false, 300, 257, 200, 1, 1, 0],
      [true, false, 300, 257, 200, 1, 1, 0],
      [false, true, 300, 257, 200, 1, 0.5, 0.75],
      [true, true, 129, 300, 77, 1, 1, 0],
      [false, true, 4, 1000, 512, 1, 1, 0],
      [false, false, 130, 96, 64, 3, 1, 1],
    ] as const
  ).map(([ta, tb, M, N, K, batch, alpha, beta], i) => ({
    op: 'gemm',
    label: `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${M}x${N}x${K}${batch > 1 ? ` batch ${batch}, shared B` : ''}${beta ? `, alpha ${alpha} beta ${beta}` : ''}`,
    build: (): OpCase => ({
      tensors: [f(batch * M * K, 100 + i, [batch * M * K]), f(K * N, 200 + i, [K * N]), f(batch * M * N, 300 + i, [batch * M * N])],
      ints: [ta ? 1 : 0, tb ? 1 : 0, M, N, K, batch, M * K, 0, M * N],
      floats: [alpha, beta],
      outputs: [2],
      accumulates: beta ? [2] : [],
      atol: 1e-3,
      relNorm: 1e-2,
    }),
  })),
  {
    // the MoT backward's weight gradients: dW_g = dy_g^T x_g, K = each expert's row count, accumulating
    op: 'gemm_grouped',
    label: 'TN, two groups of 300 and 129 rows, beta 1',
    build: (): OpCase => ({
      tensors: [f(300 * 200, 60, [300, 200]), f(129 * 200, 61, [129, 200]), f(300 * 257, 62, [300, 257]), f(129 * 257, 63, [129, 257]), f(200 * 257, 64, [200, 257]), f(200 * 257, 65, [200, 257])],
      ints: [2, 1, 0, 200, 200, 257, 257, 300, 129],
      floats: [1, 1],
      outputs: [4, 5],
      accumulates: [4, 5],
      atol: 1e-3,
      relNorm: 1e-2,
    }),
  },
  ...(
    [
      // [H, Hkv, hd, segments]: two samples, every mode, segments crossing 64-row tiles
      [8, 2, 128, [[64, 1, 0], [150, 0, 0], [256, 2, 0], [100, 0, 1], [30, 1, 1], [100, 2, 1]]],
      [4, 4, 64, [[200, 0, 0], [33, 1, 1], [67, 2, 1]]],
      [4, 1, 48, [[17, 1, 0], [90, 0, 0], [40, 2, 0]]],
      [2, 2, 34, [[50, 0, 0], [20, 2, 0], [31, 1, 1]]],
    ] as const
  ).flatMap(([H, Hkv, hd, segs], i) => {
    const rows: number[] = [];
    let start = 0;
    for (const [len, mode, sample] of segs) {
      rows.push(start, start + len, mode, sample);
      start += len;
    }
    const N = start;
    const scale = 1 / Math.sqrt(hd);
    const fwd = (): Tensor[] => [
      f(N * H * hd, 400 + i, [N, H, hd], 2),
      f(N * Hkv * hd, 500 + i, [N, Hkv, hd], 2),
      f(N * Hkv * hd, 600 + i, [N, Hkv, hd]),
      Tensor.from(Int32Array.from(rows), [segs.length, 4]),
      zeros([N, H, hd]),
      zeros([H, N]),
    ];
    const label = `N ${N}, H ${H}/${Hkv}, hd ${hd}, ${segs.length} segments`;
    return [
      {
        op: 'attention_forward',
        label,
        build: (): OpCase => ({ tensors: fwd(), ints: [], floats: [scale], outputs: [4, 5], atol: 1e-4, relNorm: 1e-2 }),
      },
      {
        op: 'attention_backward',
        label,
        build: (): OpCase => ({
          tensors: [...fwd(), f(N * H * hd, 700 + i, [N, H, hd]), zeros([N, H, hd]), zeros([N, Hkv, hd]), zeros([N, Hkv, hd])],
          ints: [],
          floats: [scale],
          outputs: [7, 8, 9],
          atol: 1e-4,
          relNorm: 2e-2,
          prepare: { op: 'attention_forward', tensors: [0, 1, 2, 3, 4, 5], floats: [scale] },
        }),
      },
    ];
  }),
];

/** Runs a case's `prepare` op (if any) on its tensors, wherever they live. */
export function prepareCase(c: OpCase, run: (op: string, call: { tensors: Tensor[]; ints: number[]; floats: number[] }) => void): OpCase {
  if (c.prepare) run(c.prepare.op, { tensors: c.prepare.tensors.map((i) => c.tensors[i]), ints: c.prepare.ints ?? [], floats: c.prepare.floats ?? [] });
  return c;
}

/** Fills every non-accumulating f32 output with NaN, so an unwritten element shows. */
export function poisonOutputs(c: OpCase): void {
  for (const i of c.outputs) {
    if (c.accumulates?.includes(i)) continue;
    const t = c.tensors[i];
    if (t.dtype === 'f32') t.upload(new Float32Array(t.numel).fill(Number.NaN));
  }
}

export function disposeCase(c: OpCase): void {
  for (const t of c.tensors) t.dispose();
}
