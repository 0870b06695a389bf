// All op wrappers. Each op family's file exports validated sync functions with an `.async` twin.
export * from './elementwise.js';
export { listOps, opIndex } from './registry.js';
