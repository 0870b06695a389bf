// Training data (DESIGN.md sections 2, 3): tokenizers, image tokens, rectified-flow noising, the
// sequence layout of edit and understanding samples with condition dropout, packing into batches,
// and loading examples from manifests.

export * from './tokenizer.js';
export * from './vocab.js';
export * from './codec.js';
export * from './flow.js';
export * from './sequence.js';
export * from './samples.js';
export * from './pack.js';
export * from './records.js';
