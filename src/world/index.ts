// The synthetic editing world (DESIGN.md section 6): seeded scenes, a renderer, 21 categories of
// edits with exact targets, understanding Q/A, data sets on disk, and an exact scorer.

export * from './rng.js';
export * from './palette.js';
export * from './scene.js';
export * from './font.js';
export * from './shapes.js';
export * from './image.js';
export * from './render.js';
export * from './ops.js';
export * from './edit.js';
export * from './categories.js';
export * from './describe.js';
export * from './layout.js';
export * from './scene-gen.js';
export { GENERATORS, type CategoryGenerator } from './generators/index.js';
export * from './check.js';
export * from './sample.js';
export * from './score.js';
export * from './understanding.js';
export * from './schema.js';
export * from './manifest.js';
export * from './splits.js';
export * from './atomic.js';
export * from './dataset.js';
export * from './show.js';
export * from './traversal.js';
