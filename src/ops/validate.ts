// Argument checks shared by the op wrappers. Each throws argError(op, argument, expected, received).
import type { DType, Device } from '../native/binding.js';
import { argError, describeValue, MetacotError } from '../native/errors.js';
import { Tensor, shapeString } from '../native/tensor.js';

export function tensorArg(op: string, arg: string, t: unknown, dtype: DType = 'f32'): Tensor {
  if (!(t instanceof Tensor)) throw argError(op, arg, 'a Tensor', describeValue(t));
  if (t.disposed) throw new MetacotError('E_DISPOSED', `${op}: argument '${arg}' was disposed`);
  if (t.dtype !== dtype) throw argError(op, arg, `dtype ${dtype}`, `${t.dtype} ${shapeString(t.shape)}`, 'E_DTYPE');
  return t;
}

/** Checks the tensor's shape; `null` entries in `shape` match any size. */
export function shapeArg(op: string, arg: string, t: Tensor, shape: readonly (number | null)[]): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = `[${shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    throw argError(op, arg, `shape ${want}`, `shape ${shapeString(t.shape)}`, 'E_SHAPE');
  }
}

export function numelArg(op: string, arg: string, t: Tensor, n: number, like?: string): void {
  if (t.numel !== n)
    throw argError(op, arg, `${n} elements${like ? ` (like ${like})` : ''}`, `shape ${shapeString(t.shape)}`, 'E_SHAPE');
}

export function rankArg(op: string, arg: string, t: Tensor, minRank: number, maxRank = minRank): void {
  if (t.shape.length < minRank || t.shape.length > maxRank)
    throw argError(
      op,
      arg,
      minRank === maxRank ? `a ${minRank}-D tensor` : `a ${minRank}- to ${maxRank}-D tensor`,
      `shape ${shapeString(t.shape)}`,
      'E_SHAPE',
    );
}

export function sameDevice(op: string, tensors: Record<string, Tensor>): Device {
  const entries = Object.entries(tensors);
  const dev = entries[0][1].device;
  for (const [name, t] of entries)
    if (t.device !== dev) throw argError(op, name, `device ${dev} (like '${entries[0][0]}')`, t.device, 'E_DEVICE');
  return dev;
}

export function numberArg(
  op: string,
  arg: string,
  v: unknown,
  opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  const okType = typeof v === 'number' && Number.isFinite(v) && (!opts.integer || Number.isInteger(v));
  const n = v as number;
  const okRange =
    okType &&
    (opts.min === undefined || (opts.exclusiveMin ? n > opts.min : n >= opts.min)) &&
    (opts.max === undefined || n <= opts.max);
  if (!okRange) {
    const parts: string[] = [opts.integer ? 'an integer' : 'a finite number'];
    if (opts.min !== undefined) parts.push(`${opts.exclusiveMin ? '>' : '>='} ${opts.min}`);
    if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
    throw argError(op, arg, parts.join(' '), describeValue(v));
  }
  return n;
}

/** A number strictly inside (0, 1), e.g. the schedule's t_1 (sigma = 1 would divide by zero). */
export function openUnitArg(op: string, arg: string, v: unknown): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1)) throw argError(op, arg, 'a finite number > 0 < 1', describeValue(v));
  return v;
}

export function boolArg(op: string, arg: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw argError(op, arg, 'a boolean', describeValue(v));
  return v;
}
