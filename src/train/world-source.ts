// The SFT data mixture on the built-in world, generated on the fly: edit samples of a CoT variant
// over a category subset, mixed with understanding Q/A samples, packed to a token budget. Every
// micro-batch is a pure function of (seed, step, micro): no data-loader state to checkpoint, and a
// resumed run sees exactly the batches the uninterrupted one would have. Only train-split seeds are
// drawn (src/world/splits.ts), so evaluation scenes are never trained on.
import { cotForEdit } from '../cot/build.js';
import type { CotVariant } from '../cot/grammar.js';
import type { HostBatch } from '../model/batch.js';
import type { ModelConfig } from '../model/config.js';
import { packSamples } from '../data/pack.js';
import { type DropoutRates, DEFAULT_DROPOUT, type SampleContext, editTrainingSample, understandingSample } from '../data/samples.js';
import type { PackedSample } from '../data/sequence.js';
import type { CategoryName } from '../world/categories.js';
import type { Edit } from '../world/edit.js';
import { renderScene } from '../world/render.js';
import { Rng, hashSeed } from '../world/rng.js';
import { generateEdit } from '../world/sample.js';
import { splitOf } from '../world/splits.js';
import { generateQa } from '../world/understanding.js';
import { stepShapeOf } from './flops.js';
import type { BatchSource, TrainBatch } from './sft.js';

export interface WorldMixture {
  seed: number;
  variant: CotVariant;
  categories: readonly CategoryName[];
  /** share of understanding samples among all samples */
  understandingRatio: number;
  /** tokens per micro-batch (samples are packed until the next would overflow) */
  tokenBudget: number;
  dropout: DropoutRates;
  /** eval fraction of the seed space (the same value the evaluation uses) */
  evalFraction: number;
}

export const DEFAULT_MIXTURE: Omit<WorldMixture, 'categories'> = {
  seed: 1,
  variant: 'meta',
  understandingRatio: 0.15,
  tokenBudget: 1280,
  dropout: DEFAULT_DROPOUT,
  evalFraction: 0.1,
};

/** A train-split edit of `category` drawn from `rng`. */
export function trainEdit(category: CategoryName, rng: Rng, evalFraction: number, imageSize: number): Edit {
  for (;;) {
    const seed = rng.int(0, 0x7ffffffe);
    if (splitOf(seed, evalFraction) !== 'train') continue;
    return generateEdit(category, seed, { width: imageSize }).edit;
  }
}

export class WorldSource implements BatchSource {
  constructor(
    readonly mix: WorldMixture,
    readonly ctx: SampleContext,
    readonly model: ModelConfig,
  ) {
    if (mix.categories.length === 0) throw new Error('WorldSource: argument \'categories\' expected at least one category');
    if (!(mix.understandingRatio >= 0 && mix.understandingRatio < 1))
      throw new Error(`WorldSource: argument 'understandingRatio' expected a number in [0, 1), received ${mix.understandingRatio}`);
  }

  /** One sample (edit or understanding) from its own RNG. */
  sample(rng: Rng): { sample: PackedSample; kind: 'edit' | 'understanding' } {
    const size = this.model.imageSize;
    const category = rng.pick(this.mix.categories);
    if (rng.chance(this.mix.understandingRatio)) {
      const edit = trainEdit(category, rng, this.mix.evalFraction, size);
      const qa = generateQa(edit.source, rng.fork('qa'), 1);
      if (qa.length) {
        const image = renderScene(edit.source, { width: size }).image;
        return { sample: understandingSample({ image, question: qa[0].question, answer: qa[0].answer }, this.ctx), kind: 'understanding' };
      }
    }
    const edit = trainEdit(category, rng, this.mix.evalFraction, size);
    const source = renderScene(edit.source, { width: size }).image;
    const target = renderScene(edit.target, { width: size }).image;
    const cot = this.mix.variant === 'none' ? undefined : cotForEdit(edit, this.mix.variant);
    const { sample } = editTrainingSample({ source, target, instruction: edit.instruction, cot }, this.ctx, rng.fork('noise'), this.mix.dropout);
    return { sample, kind: 'edit' };
  }

  batchAt(step: number, micro: number): TrainBatch {
    const rng = new Rng(hashSeed('sft-batch', this.mix.seed, step, micro));
    const samples: PackedSample[] = [];
    let tokens = 0;
    for (let k = 0; ; k++) {
      const { sample } = this.sample(rng.fork(k));
      if (samples.length > 0 && tokens + sample.length > this.mix.tokenBudget) break;
      samples.push(sample);
      tokens += sample.length;
    }
    const batch = packSamples(samples);
    return { batch, samples: samples.length, shape: shapeOf(batch) };
  }
}

/** the step shape of a packed batch (token kinds, head rows, attention pairs), for FLOPs */
export const shapeOf: (b: HostBatch) => TrainBatch['shape'] = stepShapeOf;
