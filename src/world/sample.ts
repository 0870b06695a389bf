// One edit of one category from one seed: draw a scene, let the category's generator pick an edit,
// check it, and redraw (from a derived seed) until it is valid. Deterministic in (category, seed,
// canvas size).

import { CATEGORIES, type CategoryName, isCategory } from './categories.js';
import { editProblems } from './check.js';
import type { Edit } from './edit.js';
import { GENERATORS } from './generators/index.js';
import { applyOps, metaTaskOf } from './ops.js';
import { canvasSize, type RenderOptions } from './render.js';
import { hashSeed, Rng } from './rng.js';
import { canonicalScene } from './scene.js';
import { generateScene } from './scene-gen.js';

export const MAX_ATTEMPTS = 200;

export interface GeneratedEdit {
  edit: Edit;
  /** Scenes drawn before a valid edit came out (1 = first try). */
  attempts: number;
}

export function generateEdit(category: CategoryName, seed: number, size: RenderOptions = {}): GeneratedEdit {
  if (!isCategory(category)) throw new RangeError(`generateEdit: unknown category ${JSON.stringify(category)}`);
  if (!Number.isInteger(seed)) throw new RangeError(`generateEdit: seed must be an integer, got ${seed}`);
  const { width, height } = canvasSize(size);
  const gen = GENERATORS[category];
  let last = 'no scene allowed an edit';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = new Rng(hashSeed(seed, category, attempt));
    const source = canonicalScene(generateScene(rng.fork('scene'), gen.hints));
    const draft = gen.generate(source, rng.fork('edit'));
    if (!draft) continue;
    const target = canonicalScene(applyOps(source, draft.ops));
    const edit: Edit = {
      category,
      instruction: draft.instruction,
      ops: draft.ops,
      metaTasks: draft.ops.map(metaTaskOf),
      understanding: [...(draft.understanding ?? CATEGORIES[category].understanding)],
      facts: draft.facts,
      source,
      target,
    };
    const problems = editProblems(edit, width, height);
    if (problems.length === 0) return { edit, attempts: attempt + 1 };
    last = problems.join('; ');
  }
  throw new Error(`generateEdit: ${category} found no valid edit in ${MAX_ATTEMPTS} scenes for seed ${seed} at ${width}x${height}; last problem: ${last}`);
}
