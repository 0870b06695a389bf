// metacot's public API for embedding the engine in Node tools.
export { Tensor, liveTensors, shapeString } from './native/tensor.js';
export type { DType, Device, NativeErrorCode } from './native/binding.js';
export { MetacotError } from './native/errors.js';
export { loadBackend, describeBackend } from './native/loader.js';
export * as ops from './ops/index.js';
export { timeCall, listOps } from './ops/registry.js';
export { MotModel, KvCache } from './model/model.js';
export { checkParity, parityCases } from './check/parity.js';
export { editImage, thinkBatch, thinkCot, DEFAULT_EDIT, type EditOptions, type EditOutput } from './sample/edit.js';
export { sampleBatch, type BatchEditRequest, type BatchSampleOptions, type BatchSampleResult, type StepRecord } from './sample/batch.js';
