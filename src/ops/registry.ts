// defineOp: one place that turns "validate the arguments, then call op N of the native table" into a
// synchronous function with an `.async` twin that runs on a libuv worker, so the event loop keeps
// turning while a large kernel runs. Validation happens in TypeScript, before any native call.
import type { NativeBinding, NativeTensorHandle } from '../native/binding.js';
import { MetacotError, withCallerStack } from '../native/errors.js';
import { loadBackend } from '../native/loader.js';
import type { Tensor } from '../native/tensor.js';

export interface OpCall {
  tensors: Tensor[];
  ints?: number[];
  floats?: number[];
}

let indexByName: Map<string, number> | null = null;

function binding(): NativeBinding {
  return loadBackend().binding;
}

export function opIndex(name: string): number {
  if (!indexByName) indexByName = new Map(binding().ops().map((o, i) => [o.name, i]));
  const i = indexByName.get(name);
  if (i === undefined) throw new MetacotError('E_ARG', `${name}: this addon has no op named '${name}' (rebuild the addon?)`);
  return i;
}

/** The ops of the native table with their backends, for `metacot info` and the op tests. */
export function listOps(): { name: string; cpu: boolean; cuda: boolean }[] {
  return binding().ops();
}

type NativeCall = [number, NativeTensorHandle[], number[], number[], number[][]];

/** The native arguments of a call: op index, handles, ints, floats, and the shapes seen by TypeScript. */
function nativeArgs(name: string, call: OpCall): NativeCall {
  return [opIndex(name), call.tensors.map((t) => t.handle), call.ints ?? [], call.floats ?? [], call.tensors.map((t) => [...t.shape])];
}

export function runCall(name: string, call: OpCall): void {
  binding().runOp(...nativeArgs(name, call));
}

/**
 * Runs an op `reps` times back to back and returns each run's milliseconds: CUDA events on a GPU, a
 * steady clock on the CPU. For microbenchmarks (bench/, `metacot check`); warm up first.
 */
export function timeCall(name: string, call: OpCall, reps: number): Float64Array {
  if (!Number.isInteger(reps) || reps < 1 || reps > 100000)
    throw new MetacotError('E_ARG', `timeCall: argument 'reps' expected an integer in 1..100000, received ${String(reps)}`);
  return binding().timeOp(...nativeArgs(name, call), reps);
}

export async function runCallAsync(name: string, call: OpCall): Promise<void> {
  const site = new Error();
  try {
    await binding().runOpAsync(...nativeArgs(name, call));
  } catch (e) {
    throw withCallerStack(e, site);
  }
}

export type SyncOp<A extends unknown[]> = ((...args: A) => void) & {
  /** the same op, run off the event loop */
  async: (...args: A) => Promise<void>;
  opName: string;
};

/** `prepare` validates its arguments (throwing argError) and returns the native call. */
export function defineOp<A extends unknown[]>(name: string, prepare: (...args: A) => OpCall): SyncOp<A> {
  const sync = ((...args: A) => runCall(name, prepare(...args))) as SyncOp<A>;
  sync.async = (...args: A) => {
    let call: OpCall;
    try {
      call = prepare(...args);
    } catch (e) {
      return Promise.reject(e);
    }
    return runCallAsync(name, call);
  };
  sync.opName = name;
  return sync;
}
