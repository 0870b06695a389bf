// Seeds and splits. Every sample's seed is derived from (data set seed, category, index); its split
// is a function of that seed alone, so train and eval never share a scene, whichever run made them.

import { hashSeed, mix32 } from './rng.js';

export const SPLITS = ['train', 'eval'] as const;
export type Split = (typeof SPLITS)[number];

export const DEFAULT_EVAL_FRACTION = 0.1;

export function sampleSeed(datasetSeed: number, category: string, index: number): number {
  return hashSeed('world-sample', datasetSeed, category, index);
}

export function splitOf(seed: number, evalFraction = DEFAULT_EVAL_FRACTION): Split {
  if (!(evalFraction >= 0 && evalFraction <= 1)) {
    throw new RangeError(`splitOf: evalFraction must be in [0, 1], got ${evalFraction}`);
  }
  // A hash independent of the one that drives the scene, so the split is not correlated with content.
  return mix32(seed ^ 0x2545f491) / 4294967296 < evalFraction ? 'eval' : 'train';
}
