// Meta-CoT (DESIGN.md section 5): the CoT grammar and its four variants, the builder for world
// edits, parser and validator, binding to scenes (the CEC judge's CoT-implied scene), meta-task
// composition tables, the manifest check and the annotator for real data.

export * from './grammar.js';
export * from './ast.js';
export * from './values.js';
export * from './print.js';
export * from './parse.js';
export * from './ops.js';
export * from './apply.js';
export * from './composition.js';
export * from './understand.js';
export * from './build.js';
export * from './validate.js';
export * from './check.js';
export * from './prompt.js';
export * from './annotate.js';
