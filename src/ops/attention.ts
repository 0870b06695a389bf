// Joint attention over a packed sequence (kernels/attention, DESIGN.md section 2).
// q[N, H, hd], k/v[N, Hkv, hd] (GQA: head h reads kv head h / (H / Hkv)), out[N, H, hd], lse[H, N], and
// a segment table seg[S, 4] int32 with rows [start, end, mode, sample]: mode 0 causal, 1 full, 2 noise.
// A causal segment attends causally within itself, a full one bidirectionally; both (and noise) also
// attend to every earlier segment of their sample that is not noise. Samples never see each other.
import type { Device } from '../native/binding.js';
import { argError } from '../native/errors.js';
import { Tensor, shapeString } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { numberArg, rankArg, sameDevice, shapeArg, tensorArg } from './validate.js';

export const SEG_CAUSAL = 0;
export const SEG_FULL = 1;
export const SEG_NOISE = 2;
export type SegMode = typeof SEG_CAUSAL | typeof SEG_FULL | typeof SEG_NOISE;
export const SEG_MODE_NAMES = ['causal', 'full', 'noise'] as const;

/**
 * Checks a segment table (flat rows of 4): contiguous, sorted, non-empty rows covering [0, N), mode in
 * 0..2, sample ids >= 0 and non-decreasing. Throws E_ARG naming the row; the native adapter checks the
 * same rules with the same messages.
 */
export function checkSegments(op: string, seg: ArrayLike<number>, N: number): void {
  const S = Math.floor(seg.length / 4);
  if (S === 0 && N > 0) throw argError(op, 'seg', `segments covering [0, ${N})`, 'an empty table');
  const bad = (s: number, expected: string) =>
    argError(op, 'seg', expected, `row ${s} = [${seg[s * 4]}, ${seg[s * 4 + 1]}, ${seg[s * 4 + 2]}, ${seg[s * 4 + 3]}]`);
  for (let s = 0; s < S; s++) {
    const [a, b, mode, sample] = [seg[s * 4], seg[s * 4 + 1], seg[s * 4 + 2], seg[s * 4 + 3]];
    const row = `row ${s}`;
    if (s === 0 && a !== 0) throw bad(s, `${row} to start at 0`);
    if (s > 0 && a !== seg[(s - 1) * 4 + 1])
      throw bad(s, `${row} to start at ${seg[(s - 1) * 4 + 1]} (the previous row's end: segments are contiguous and sorted)`);
    if (b <= a) throw bad(s, `${row} to end after its start (segments are non-empty)`);
    if (b > N) throw bad(s, `${row} to end at or before N = ${N}`);
    if (mode < 0 || mode > 2) throw bad(s, `${row} mode 0 (causal), 1 (full) or 2 (noise)`);
    if (sample < 0) throw bad(s, `${row} sample >= 0`);
    if (s > 0 && sample < seg[(s - 1) * 4 + 3])
      throw bad(s, `${row} sample >= ${seg[(s - 1) * 4 + 3]}, the previous row's (samples are contiguous and non-decreasing)`);
  }
  if (S > 0 && seg[(S - 1) * 4 + 1] !== N) throw bad(S - 1, `row ${S - 1} to end at N = ${N} (segments cover [0, N))`);
}

/**
 * The segment table of packed samples, each a list of [length, mode] segments in order:
 * `segmentTable([[[64, SEG_FULL], [20, SEG_CAUSAL], [64, SEG_NOISE]], [[30, SEG_CAUSAL]]])`.
 */
export function segmentTable(samples: ReadonlyArray<ReadonlyArray<readonly [number, SegMode]>>): { rows: Int32Array; tokens: number } {
  const rows: number[] = [];
  let pos = 0;
  samples.forEach((segs, sample) => {
    for (const [len, mode] of segs) {
      rows.push(pos, pos + len, mode, sample);
      pos += len;
    }
  });
  const out = Int32Array.from(rows);
  checkSegments('segmentTable', out, pos);
  return { rows: out, tokens: pos };
}

/** A [S, 4] int32 tensor of segmentTable(samples) on `device`. */
export function segmentTensor(samples: ReadonlyArray<ReadonlyArray<readonly [number, SegMode]>>, device?: Device): Tensor<'i32'> {
  const { rows } = segmentTable(samples);
  return Tensor.from(rows, [rows.length / 4, 4], { device }) as Tensor<'i32'>;
}

interface Dims {
  N: number;
  H: number;
  Hkv: number;
  hd: number;
}

function qkvSegArgs(op: string, q: Tensor, k: Tensor, v: Tensor, seg: Tensor, scale: number): Dims {
  tensorArg(op, 'q', q);
  tensorArg(op, 'k', k);
  tensorArg(op, 'v', v);
  tensorArg(op, 'seg', seg, 'i32');
  rankArg(op, 'q', q, 3);
  const [N, H, hd] = q.shape;
  if (H < 1) throw argError(op, 'q', 'at least 1 head', `shape ${shapeString(q.shape)}`, 'E_SHAPE');
  if (hd < 2 || hd > 256 || hd % 2 !== 0)
    throw argError(op, 'q', 'shape [N, H, head_dim] with an even head_dim in [2, 256]', `shape ${shapeString(q.shape)}`, 'E_SHAPE');
  rankArg(op, 'k', k, 3);
  const Hkv = k.shape[1];
  if (k.shape[0] !== N || k.shape[2] !== hd || Hkv < 1 || H % Hkv !== 0)
    throw argError(op, 'k', `shape [${N}, Hkv, ${hd}] with Hkv dividing H = ${H}`, `shape ${shapeString(k.shape)}`, 'E_SHAPE');
  shapeArg(op, 'v', v, k.shape);
  shapeArg(op, 'seg', seg, [null, 4]);
  numberArg(op, 'scale', scale, { min: 0, exclusiveMin: true });
  // the table is tiny: check it here when it is host-visible (the native adapter checks it everywhere)
  if (seg.device === 'cpu') checkSegments(op, seg.download() as Int32Array, N);
  return { N, H, Hkv, hd };
}

/** out = softmax(scale * q k^T + mask) v per head; lse[h, i] = log-sum-exp of row i (for the backward). */
export const attentionForward = defineOp(
  'attention_forward',
  (q: Tensor, k: Tensor, v: Tensor, seg: Tensor, out: Tensor, lse: Tensor, scale: number) => {
    const op = 'attention_forward';
    const { N, H } = qkvSegArgs(op, q, k, v, seg, scale);
    tensorArg(op, 'out', out);
    tensorArg(op, 'lse', lse);
    shapeArg(op, 'out', out, q.shape);
    shapeArg(op, 'lse', lse, [H, N]);
    sameDevice(op, { q, k, v, seg, out, lse });
    return { tensors: [q, k, v, seg, out, lse], floats: [scale] };
  },
);

/** dq, dk, dv (overwritten) from dout, with out and lse from attentionForward on the same inputs. */
export const attentionBackward = defineOp(
  'attention_backward',
  (q: Tensor, k: Tensor, v: Tensor, seg: Tensor, out: Tensor, lse: Tensor, dout: Tensor, dq: Tensor, dk: Tensor, dv: Tensor, scale: number) => {
    const op = 'attention_backward';
    const { N, H } = qkvSegArgs(op, q, k, v, seg, scale);
    for (const [name, t] of Object.entries({ out, lse, dout, dq, dk, dv })) tensorArg(op, name, t);
    shapeArg(op, 'out', out, q.shape);
    shapeArg(op, 'lse', lse, [H, N]);
    shapeArg(op, 'dout', dout, q.shape);
    shapeArg(op, 'dq', dq, q.shape);
    shapeArg(op, 'dk', dk, k.shape);
    shapeArg(op, 'dv', dv, k.shape);
    sameDevice(op, { q, k, v, seg, out, lse, dout, dq, dk, dv });
    return { tensors: [q, k, v, seg, out, lse, dout, dq, dk, dv], floats: [scale] };
  },
);
