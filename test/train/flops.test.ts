// The FLOP count behind samples/s and MFU, against the float64 reference model: its linear layers
// count their own multiply-adds as they run (test/ref/mot.ts), and attention's visible pairs come from
// the reference mask. Forward = linear FLOPs + 4 hd H per visible pair and layer; a step = 3x.
import { describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { attentionPairs, forwardFlops, stepShapeOf, trainStepFlops } from '../../src/train/flops.js';
import { attentionMaskRef } from '../ref/attention.js';
import { motForwardRef, refLinearFlops } from '../ref/mot.js';
import { editAndUnderstanding, microConfig, randomizeParams } from '../model/fixtures.js';

function visiblePairs(seg: ArrayLike<number>, N: number): number {
  return attentionMaskRef(seg, N).reduce((a, v) => a + v, 0);
}

describe('FLOP count', () => {
  it('forwardFlops equals what the reference model computes, for several configs and batches', () => {
    for (const [over, seed] of [[{}, 1], [{ heads: 4, kvHeads: 2, mlp: 40 }, 2], [{ hidden: 24, layers: 3, tieEmbeddings: false }, 3]] as const) {
      const cfg = microConfig(over);
      using model = MotModel.create(cfg, { seed: 1, grads: false });
      const p = randomizeParams(model, 4);
      const batch = editAndUnderstanding(cfg, seed);
      refLinearFlops.value = 0;
      motForwardRef({ ...cfg }, p, batch);
      const pairs = visiblePairs(batch.seg, batch.ids.length);
      const want = refLinearFlops.value + cfg.layers * 4 * cfg.headDim * cfg.heads * pairs;
      const shape = stepShapeOf(batch);
      expect(shape.attnPairs).toBe(pairs);
      expect(forwardFlops(cfg, shape)).toBe(want);
      expect(trainStepFlops(cfg, shape)).toBe(3 * want);
    }
  });

  it('stepShapeOf counts token kinds, CE rows and noisy rows', () => {
    const cfg = microConfig();
    const b = editAndUnderstanding(cfg, 5);
    const s = stepShapeOf(b);
    const count = (k: number) => [...b.kind].filter((x) => x === k).length;
    expect(s).toMatchObject({ tokens: b.ids.length, textTokens: count(0), vitTokens: count(1), latentTokens: count(2) + count(3), noisyRows: count(3), ceRows: [...b.ceTargets!].filter((t) => t >= 0).length });
    expect(s.textTokens + s.vitTokens + s.latentTokens).toBe(s.tokens);
    expect(s.ceRows).toBeGreaterThan(0);
    expect(s.noisyRows).toBeGreaterThan(0);
    expect(s.vitTokens).toBeGreaterThan(0);
    expect(stepShapeOf({ ...b, ceTargets: undefined } as never).ceRows).toBe(0);
  });

  it('attentionPairs follows the mask rules: causal, full, noise segments and separate samples', () => {
    // segment tables: [start, end, mode (0 causal, 1 full, 2 noise), sample] per segment
    const cases = [
      [0, 5, 0, 0],
      [0, 3, 0, 0, 3, 7, 1, 0, 7, 9, 0, 0],
      [0, 3, 0, 0, 3, 7, 2, 0, 7, 9, 0, 0],
      [0, 3, 0, 0, 3, 7, 0, 1],
      [0, 2, 1, 0, 2, 6, 2, 0, 6, 8, 1, 0, 8, 9, 0, 1],
    ];
    for (const seg of cases) expect(attentionPairs(seg)).toBe(visiblePairs(seg, seg[seg.length - 3]));
    expect(attentionPairs(cases[0])).toBe(15);
    // a noise segment is seen by nothing after it: 6 + 3*4 + 4*4 | 2*3 + 2*2
    expect(attentionPairs(cases[2])).toBe(6 + 12 + 16 + 6 + 3);
  });
});

describe('FLOP count: noisy rows', () => {
  it('stepShapeOf counts only noisy latents as noisy rows: 4 clean + 2 noisy latents give noisyRows 2, latentTokens 6', async () => {
    const { buildBatch } = await import('../model/fixtures.js');
    const cfg = microConfig();
    const b = buildBatch(cfg, [
      { mode: 1, kind: 2, expert: 1, len: 4, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 3, sample: 0, ce: true },
      { mode: 2, kind: 3, expert: 1, len: 2, sample: 0, mse: true },
    ], 7);
    expect(stepShapeOf(b)).toMatchObject({ tokens: 9, textTokens: 3, vitTokens: 0, latentTokens: 6, noisyRows: 2, ceRows: 3 });
  });
});
