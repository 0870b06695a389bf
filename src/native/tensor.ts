// Tensor: a typed, disposable handle to native memory (node-llama-cpp / sharp style).
//   const t = Tensor.from(new Float32Array([1, 2, 3, 4]), [2, 2]);
//   using u = Tensor.zeros([2, 2]);     // disposed at the end of the scope
//   t.toFloat32Array(); t.dispose();
// Native memory is freed by dispose() (or `using`); the addon's finalizer frees a forgotten one when
// the GC collects it. liveTensors() counts what is still held, for leak checks.
import { freemem, totalmem } from 'node:os';

import {
  DEVICE_CODES,
  DTYPE_CODES,
  type DType,
  type Device,
  type NativeStats,
  type NativeTensorHandle,
  type TypedArrayFor,
} from './binding.js';
import { MetacotError, argError, describeValue } from './errors.js';
import { loadBackend } from './loader.js';

const BYTES: Record<DType, number> = { f32: 4, i32: 4, bf16: 2, u8: 1 };
const ARRAY_FOR: Record<DType, string> = { f32: 'Float32Array', i32: 'Int32Array', bf16: 'Uint16Array', u8: 'Uint8Array' };

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function checkShape(op: string, shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw argError(op, 'shape', 'an array of non-negative integers', describeValue(shape), 'E_SHAPE');
  if (shape.length > 6) throw argError(op, 'shape', 'at most 6 dimensions', `${shape.length}`, 'E_SHAPE');
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw argError(op, 'shape', 'an array of non-negative integers', describeValue(shape), 'E_SHAPE');
    n *= d;
  }
  return n;
}

function checkDType(op: string, dtype: unknown): DType {
  if (typeof dtype !== 'string' || !(dtype in DTYPE_CODES))
    throw argError(op, 'dtype', "'f32' | 'i32' | 'bf16' | 'u8'", describeValue(dtype), 'E_DTYPE');
  return dtype as DType;
}

function checkDevice(op: string, device: unknown): Device {
  if (typeof device !== 'string' || !(device in DEVICE_CODES))
    throw argError(op, 'device', "'cpu' | 'cuda'", describeValue(device), 'E_DEVICE');
  if (device === 'cuda' && loadBackend().device !== 'cuda')
    throw argError(op, 'device', "'cpu' (CUDA is not usable here)", `'cuda': ${loadBackend().fallbackReasons.join('; ')}`, 'E_DEVICE');
  return device as Device;
}

export class Tensor<D extends DType = DType> {
  readonly shape: readonly number[];
  readonly dtype: D;
  readonly device: Device;
  readonly numel: number;
  /** @internal the native handle; ops pass it to the addon */
  readonly handle: NativeTensorHandle;

  private constructor(shape: readonly number[], dtype: D, device: Device, handle: NativeTensorHandle) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = device;
    this.numel = shape.reduce((a, b) => a * b, 1);
    this.handle = handle;
  }

  /** A zero-filled tensor. */
  static zeros<D extends DType = 'f32'>(shape: readonly number[], opts: { dtype?: D; device?: Device } = {}): Tensor<D> {
    const numel = checkShape('Tensor.zeros', shape);
    const dtype = checkDType('Tensor.zeros', opts.dtype ?? 'f32') as D;
    const device = checkDevice('Tensor.zeros', opts.device ?? loadBackend().device);
    const bytes = numel * BYTES[dtype];
    // Refuse what cannot fit before asking the allocator (Linux overcommit would accept it and the
    // process would die later on first touch).
    if (device === 'cpu' && bytes > Math.min(totalmem(), freemem() + totalmem() / 4))
      throw new MetacotError(
        'E_OOM',
        `Tensor.zeros: shape ${shapeString(shape)} (${dtype}) needs ${(bytes / 2 ** 30).toFixed(2)} GiB, more than this machine's memory (${(totalmem() / 2 ** 30).toFixed(1)} GiB)`,
      );
    const { binding } = loadBackend();
    const handle = new binding.Tensor([...shape], DTYPE_CODES[dtype], DEVICE_CODES[device]);
    return new Tensor(shape, dtype, device, handle);
  }

  /** A tensor holding a copy of `data`, with `shape` (default: 1-D). The array type picks the dtype. */
  static from<A extends Float32Array | Int32Array | Uint16Array | Uint8Array>(
    data: A,
    shape?: readonly number[],
    opts: { device?: Device; dtype?: DType } = {},
  ): Tensor<A extends Float32Array ? 'f32' : A extends Int32Array ? 'i32' : A extends Uint16Array ? 'bf16' : 'u8'> {
    const dtype: DType =
      opts.dtype ??
      (data instanceof Float32Array
        ? 'f32'
        : data instanceof Int32Array
          ? 'i32'
          : data instanceof Uint16Array
            ? 'bf16'
            : data instanceof Uint8Array
              ? 'u8'
              : (() => {
                  throw argError('Tensor.from', 'data', 'a Float32Array, Int32Array, Uint16Array or Uint8Array', describeValue(data), 'E_DTYPE');
                })());
    const s = shape ?? [data.length];
    const numel = checkShape('Tensor.from', s);
    if (numel !== data.length)
      throw argError('Tensor.from', 'data', `${numel} elements for shape ${shapeString(s)}`, `${data.length}`, 'E_SHAPE');
    const t = Tensor.zeros(s, { dtype, device: opts.device });
    try {
      t.upload(data as never);
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t as never;
  }

  get disposed(): boolean {
    return this.handle.disposed;
  }
  get nbytes(): number {
    return this.numel * BYTES[this.dtype];
  }

  private assertLive(op: string): void {
    if (this.handle.disposed) throw new MetacotError('E_DISPOSED', `${op}: the tensor ${shapeString(this.shape)} was disposed`);
  }

  /** Copies `data` (the whole tensor, matching array type) into the tensor. */
  upload(data: TypedArrayFor<D>): void {
    this.assertLive('Tensor.upload');
    if (!ArrayBuffer.isView(data) || data.constructor.name !== ARRAY_FOR[this.dtype])
      throw argError('Tensor.upload', 'data', `a ${ARRAY_FOR[this.dtype]} for dtype ${this.dtype}`, describeValue(data), 'E_DTYPE');
    if (data.length !== this.numel)
      throw argError('Tensor.upload', 'data', `${this.numel} elements for shape ${shapeString(this.shape)}`, `${data.length}`, 'E_SHAPE');
    this.handle.upload(data);
  }

  /** A copy of the tensor's contents in a new typed array. */
  download(): TypedArrayFor<D> {
    this.assertLive('Tensor.download');
    return this.handle.download() as TypedArrayFor<D>;
  }

  toFloat32Array(): Float32Array {
    if (this.dtype !== 'f32') throw argError('Tensor.toFloat32Array', 'this', 'dtype f32', this.dtype, 'E_DTYPE');
    return this.download() as Float32Array;
  }

  /** The same buffer under another shape (same element count). Copies nothing: the two share one
   * native buffer, so disposing either disposes both. */
  reshape(shape: readonly number[]): Tensor<D> {
    this.assertLive('Tensor.reshape');
    const n = checkShape('Tensor.reshape', shape);
    if (n !== this.numel)
      throw argError('Tensor.reshape', 'shape', `${this.numel} elements like ${shapeString(this.shape)}`, `${shapeString(shape)} (${n})`, 'E_SHAPE');
    return new Tensor(shape, this.dtype, this.device, this.handle);
  }

  /** Frees the native memory now. Safe to call twice; an async op still using it finishes first. */
  dispose(): void {
    this.handle.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `Tensor(${shapeString(this.shape)}, ${this.dtype}, ${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}

/** Live native tensors and bytes, per device (leak checks, progress displays). */
export function liveTensors(): NativeStats {
  return loadBackend().binding.stats();
}
