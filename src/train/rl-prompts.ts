// The RL stage's prompts from the built-in world: train-split edits only (the evaluation's seeds are
// eval-split, so RL never sees them), the category of each prompt drawn from (seed, step, index), the
// edit itself from its own sample seed. A pure function of (seed, step): resume repeats the prompts.
import type { CategoryName } from '../world/categories.js';
import { renderScene } from '../world/render.js';
import { hashSeed } from '../world/rng.js';
import { generateEdit } from '../world/sample.js';
import { sampleSeed, splitOf } from '../world/splits.js';
import type { PromptSource, RlPrompt } from './rl.js';

export class WorldPrompts implements PromptSource {
  constructor(
    readonly seed: number,
    readonly categories: readonly CategoryName[],
    readonly imageSize: number,
    readonly evalFraction: number,
  ) {
    if (categories.length === 0) throw new RangeError("WorldPrompts: argument 'categories' expected at least one category, received none");
  }

  promptsAt(step: number, count: number): RlPrompt[] {
    return Array.from({ length: count }, (_, p) => {
      const category = this.categories[hashSeed('rl-category', this.seed, step, p) % this.categories.length];
      // the first train-split seed of this (step, prompt)
      let s = 0;
      for (let k = 0; ; k++) {
        s = sampleSeed(hashSeed('rl-prompts', this.seed, step, p), category, k);
        if (splitOf(s, this.evalFraction) === 'train') break;
      }
      const { edit } = generateEdit(category, s, { width: this.imageSize });
      return {
        id: `${category}/${s}`,
        source: renderScene(edit.source, { width: this.imageSize }).image,
        instruction: edit.instruction,
        sourceScene: edit.source,
        targetScene: edit.target,
        category,
      };
    });
  }
}
