// Every category, every variant, 1,000 random edits each: build -> print -> parse is the identity,
// print(parse(text)) reprints the text, the validator finds nothing wrong, and the CoT's target
// traversal applied to the source scene gives exactly the ground-truth target (meta, triplet; think
// by content). The categories are split between this thread and a worker thread (2 cores).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../src/world/categories.js';
import { type CategoryResult, checkCategory } from './roundtrip-check.js';

const N = 1000;

function inWorker(categories: readonly string[]): Promise<CategoryResult[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./roundtrip-worker.mjs', import.meta.url), { workerData: { categories, n: N } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`round-trip worker exited with ${code}`)));
  });
}

describe(`CoT round trip on ${N} random edits per category`, () => {
  it('is the identity for every variant and gives the target scene', async () => {
    const half = Math.ceil(CATEGORY_NAMES.length / 2);
    const theirs = inWorker(CATEGORY_NAMES.slice(half));
    const ours = CATEGORY_NAMES.slice(0, half).map((c) => checkCategory(c, N));
    const results = [...ours, ...(await theirs)];
    expect(results.map((r) => r.category)).toEqual([...CATEGORY_NAMES]);
    for (const r of results) {
      expect(r.failures, r.category).toEqual([]);
      expect(r.edits).toBe(N);
      expect(r.identity, r.category).toEqual({ none: N, think: N, triplet: N, meta: N });
      expect(r.valid, r.category).toEqual({ none: N, think: N, triplet: N, meta: N });
      // `none` says nothing, so it implies the unchanged source, never the target.
      expect(r.exact, r.category).toEqual({ none: 0, think: N, triplet: N, meta: N });
    }
  });
});
