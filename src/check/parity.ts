// Backend parity, ggml test-backend-ops style: every op of the native table that has a CUDA kernel is
// run on the same inputs on the CPU and on the GPU, outputs poisoned with NaN first, and compared:
// every element written and finite where the CPU's is, then per-element atol/rtol (fp32 kernels) or
// the norm test ||cuda - cpu|| / ||cpu|| <= relNorm (bf16 tensor-core kernels). The op-table test
// (test/ops/optable.test.ts) and `metacot check` (the GPU machine's one-shot check) both run this.
import { Tensor } from '../native/tensor.js';
import { EXTRA_CASES, OP_CASES, type OpCase, disposeCase, poisonOutputs, prepareCase } from '../ops/cases.js';
import { listOps, runCall } from '../ops/registry.js';

export interface OutputDiff {
  output: number;
  /** largest |cuda - cpu| */
  maxAbs: number;
  /** ||cuda - cpu|| / ||cpu|| */
  relNorm: number;
  /** first element that is not finite on CUDA while finite on the CPU, or -1 */
  firstUnwritten: number;
  /** the worst per-element violation of atol + rtol*|cpu| (index, or -1 when none) */
  worst: number;
}

export interface ParityResult {
  op: string;
  label: string;
  status: 'pass' | 'fail' | 'skip';
  reason?: string;
  tolerance: string;
  outputs: OutputDiff[];
}

/** ||a - b|| / ||b|| (||a - b|| when b is all zeros), in float64 */
export function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

export function compareOutputs(gpu: Float32Array, cpu: Float32Array, c: OpCase, output: number): OutputDiff {
  const atol = c.atol ?? 1e-5;
  const rtol = c.rtol ?? 1e-4;
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  let firstUnwritten = -1;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < cpu.length; i++) {
    const a = gpu[i];
    const b = cpu[i];
    if (!Number.isFinite(b)) continue;
    if (!Number.isFinite(a)) {
      if (firstUnwritten < 0) firstUnwritten = i;
      continue;
    }
    const d = Math.abs(a - b);
    maxAbs = Math.max(maxAbs, d);
    num += d * d;
    den += b * b;
    const excess = d - (atol + rtol * Math.abs(b));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  return { output, maxAbs, relNorm: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num), firstUnwritten, worst };
}

function describeTolerance(c: OpCase): string {
  return c.relNorm !== undefined ? `relNorm <= ${c.relNorm}` : `atol ${c.atol ?? 1e-5}, rtol ${c.rtol ?? 1e-4}`;
}

function verdict(c: OpCase, d: OutputDiff, gpu: Float32Array, cpu: Float32Array): string | null {
  if (gpu.length !== cpu.length) return `output ${d.output}: length ${gpu.length}, expected ${cpu.length}`;
  if (d.firstUnwritten >= 0)
    return `output ${d.output} element ${d.firstUnwritten} is ${gpu[d.firstUnwritten]} on CUDA, ${cpu[d.firstUnwritten]} on the CPU (unwritten or non-finite)`;
  if (c.relNorm !== undefined) {
    if (!(d.relNorm <= c.relNorm)) return `output ${d.output}: relative norm error ${d.relNorm.toExponential(2)} > ${c.relNorm}`;
    return null;
  }
  if (d.worst >= 0)
    return `output ${d.output} element ${d.worst}: cuda ${gpu[d.worst]} vs cpu ${cpu[d.worst]} (|diff| ${Math.abs(gpu[d.worst] - cpu[d.worst]).toExponential(2)})`;
  return null;
}

/** All parity cases: the op table's small case of every op, then the larger tiled ones. */
export function parityCases(): { op: string; label: string; build: () => OpCase }[] {
  return [...Object.keys(OP_CASES).map((op) => ({ op, label: 'op-table case', build: OP_CASES[op] })), ...EXTRA_CASES];
}

/** Runs one case on the CPU and on CUDA and compares. Needs a usable CUDA backend. */
export function checkParity(op: string, label: string, build: () => OpCase): ParityResult {
  const info = listOps().find((o) => o.name === op);
  const base = { op, label, outputs: [] as OutputDiff[] };
  if (!info) return { ...base, status: 'fail', reason: `no op named '${op}' in this addon`, tolerance: '' };
  if (!info.cuda) return { ...base, status: 'skip', reason: 'no CUDA kernel yet', tolerance: '' };
  const cpu = prepareCase(build(), runCall);
  const gpu: OpCase = {
    ...cpu,
    tensors: cpu.tensors.map((t) => Tensor.from(t.download(), t.shape, { device: 'cuda', dtype: t.dtype })),
  };
  const tolerance = describeTolerance(cpu);
  try {
    poisonOutputs(cpu);
    poisonOutputs(gpu);
    runCall(op, cpu);
    runCall(op, gpu);
    const outputs: OutputDiff[] = [];
    const problems: string[] = [];
    for (const i of cpu.outputs) {
      const a = gpu.tensors[i].download() as Float32Array;
      const b = cpu.tensors[i].download() as Float32Array;
      const d = compareOutputs(a, b, cpu, i);
      outputs.push(d);
      const v = verdict(cpu, d, a, b);
      if (v) problems.push(v);
    }
    return { ...base, outputs, tolerance, status: problems.length ? 'fail' : 'pass', reason: problems.join('; ') || undefined };
  } catch (e) {
    return { ...base, tolerance, status: 'fail', reason: `threw: ${(e as Error).message}` };
  } finally {
    disposeCase(cpu);
    disposeCase(gpu);
  }
}
