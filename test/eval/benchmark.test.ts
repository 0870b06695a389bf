// The world benchmark's evaluation: thinking per sample, images through the batched sampler in chunks,
// each sample the same as its own editImage (its seed is its noise key), scored exactly.
import { describe, expect, it } from 'vitest';

import { benchSamples, evaluateModel } from '../../src/eval/benchmark.js';
import { MotModel } from '../../src/model/model.js';
import { editImage } from '../../src/sample/edit.js';
import { scoreEdit } from '../../src/world/score.js';
import { randomizeParams } from '../model/fixtures.js';
import { cfg, ctx } from '../sample/fixture.js';

describe('evaluateModel', () => {
  it('gives each sample the image and CoT of its own editImage, whatever the chunk size, and scores it', async () => {
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 5, { scale: 0.4 });
    const samples = benchSamples(['color_alter', 'subject_remove'], 2, 1, 0.5, 8);
    expect(samples).toHaveLength(4);
    const opts = { steps: 3, maxCotTokens: 4, think: true };
    const seen: number[] = [];
    const batched = await evaluateModel(model, ctx, samples, opts, (d) => seen.push(d), 3);
    expect(seen).toEqual([1, 2, 3, 4]);
    const single = await evaluateModel(model, ctx, samples, opts, undefined, 1);
    for (const [i, s] of samples.entries()) {
      const one = await editImage(model, ctx, s.source, s.edit.instruction, { ...opts, seed: s.seed });
      for (const r of [batched.rows[i], single.rows[i]]) {
        expect(r.cot).toBe(one.cot);
        expect(Array.from(r.output.data)).toEqual(Array.from(one.image.data));
        expect(r.scores).toEqual(scoreEdit(one.image, s.edit.source, s.edit.target));
        expect(r.category).toBe(s.category);
      }
    }
    expect(batched.cotParseRate).toBe(batched.rows.filter((r) => r.cotParsed).length / 4);
    await expect(evaluateModel(model, ctx, samples, opts, undefined, 0)).rejects.toThrow("evaluateModel: argument 'batchSize' expected a positive integer, received 0");
  });
});
