// The typed interface of the native addon (native/addon.cc). Everything TypeScript knows about the
// native side is in this file; src/native/loader.ts loads an addon and returns it under this type.

/** dtype codes shared with kernels/common/tensor.h */
export const DTYPE_CODES = { f32: 0, i32: 1, bf16: 2, u8: 3 } as const;
export type DType = keyof typeof DTYPE_CODES;
/** device codes shared with kernels/common/tensor.h */
export const DEVICE_CODES = { cpu: 0, cuda: 1 } as const;
export type Device = keyof typeof DEVICE_CODES;

/** Error codes carried by native errors (`err.code`), see kernels/common/status.h. */
export type NativeErrorCode =
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_DISPOSED'
  | 'E_CUDA'
  | 'E_OOM'
  | 'E_ARG'
  | 'E_DEVICE'
  | 'E_NAN';

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : D extends 'bf16'
      ? Uint16Array
      : Uint8Array;

/** A native buffer: owned by the addon, freed by dispose() or, as a safety net, by the GC finalizer. */
export interface NativeTensorHandle {
  upload(data: Float32Array | Int32Array | Uint16Array | Uint8Array): void;
  download(): Float32Array | Int32Array | Uint16Array | Uint8Array;
  dispose(): void;
  readonly disposed: boolean;
  readonly nbytes: number;
}

export interface NativeOpInfo {
  name: string;
  cpu: boolean;
  cuda: boolean;
}

export interface NativeInfo {
  flavour: 'cpu' | 'cuda';
  simd: 'scalar' | 'avx2' | 'avx512';
  threads: number;
  maxThreads: number;
  cuda: { compiled: boolean; usable: boolean; reason: string; device: string; deviceCount: number };
}

export interface NativeStats {
  cpu: { tensors: number; bytes: number };
  cuda: { tensors: number; bytes: number };
}

export interface NativeParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
  std: number;
  owner: 'shared' | 'und' | 'gen';
  decay: boolean;
}

/** A packed batch as native tensors (see native/model/mot.h MotBatch). */
export interface NativeBatch {
  ids: NativeTensorHandle;
  kind: NativeTensorHandle;
  expert: NativeTensorHandle;
  pos: NativeTensorHandle;
  seg: NativeTensorHandle;
  vitPatches: NativeTensorHandle;
  vitPos: NativeTensorHandle;
  latents: NativeTensorHandle;
  latentPos: NativeTensorHandle;
  latentT: NativeTensorHandle;
  ceTargets?: NativeTensorHandle;
  mseTarget?: NativeTensorHandle;
  mseMask?: NativeTensorHandle;
}

export interface NativeLosses {
  ce: number;
  mse: number;
  loss: number;
  nCe: number;
  nMse: number;
}

export interface NativeKvCache {
  readonly length: number;
  clear(): void;
  clone(): NativeKvCache;
  segments(): number[];
}

export interface NativeInferResult {
  nNoisy: number;
  hasLogits: boolean;
  cached: number;
}

export interface NativeModelHandle {
  infer(
    cache: NativeKvCache,
    batch: NativeBatch,
    opts: { write?: boolean; extendLast?: boolean; lastLogits?: NativeTensorHandle; velocities?: NativeTensorHandle; latents?: NativeTensorHandle; segmentLogits?: NativeTensorHandle },
  ): Promise<NativeInferResult>;
  forward(
    batch: NativeBatch,
    opts: { wCe?: number; wMse?: number; loss?: boolean; logits?: NativeTensorHandle; velocities?: NativeTensorHandle },
  ): Promise<NativeLosses>;
  /** with grads: backward from the given head gradients (tensors on the model's device) */
  backward(grads?: { dlogits?: NativeTensorHandle; dvel?: NativeTensorHandle }): Promise<void>;
  setFrozen(und: boolean, gen: boolean): void;
  dispose(): void;
  readonly busy: boolean;
}

export interface NativeBinding {
  Model: new (
    config: Record<string, number | boolean>,
    params: NativeTensorHandle[],
    grads: NativeTensorHandle[] | null,
  ) => NativeModelHandle;
  KvCache: new () => NativeKvCache;
  modelLayout(config: Record<string, number | boolean>): NativeParamSpec[];
  Tensor: new (shape: number[], dtype: number, device: number) => NativeTensorHandle;
  /** Runs op `index` of the op table synchronously; throws a coded Error. */
  runOp(index: number, tensors: NativeTensorHandle[], ints: number[], floats: number[], shapes?: number[][]): void;
  /** Runs op `index` on a libuv worker; the promise rejects with a coded Error. */
  runOpAsync(
    index: number,
    tensors: NativeTensorHandle[],
    ints: number[],
    floats: number[],
    shapes?: number[][],
  ): Promise<void>;
  /** Runs op `index` `reps` times back to back; per-rep milliseconds (CUDA events on a GPU). Benchmarks only. */
  timeOp(index: number, tensors: NativeTensorHandle[], ints: number[], floats: number[], shapes: number[][], reps: number): Float64Array;
  ops(): NativeOpInfo[];
  info(): NativeInfo;
  stats(): NativeStats;
  setThreads(n: number): number;
  setSimd(level: 'scalar' | 'avx2' | 'avx512'): string;
}
