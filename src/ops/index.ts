// All op wrappers. Each op family's file exports validated sync functions with an `.async` twin.
export * from './attention.js';
export * from './elementwise.js';
export * from './embedding.js';
export * from './gemm.js';
export * from './grpo.js';
export * from './loss.js';
export * from './optim.js';
export * from './rmsnorm.js';
export * from './rope.js';
export * from './sampler.js';
export * from './swiglu.js';
export * from './timestep.js';
export { listOps, opIndex } from './registry.js';
