import { describe, expect, it } from 'vitest';

import { sliceBatch } from '../../src/model/batch.js';
import { KvCache, MotModel } from '../../src/model/model.js';
import { buildBatch, microConfig, randomizeParams } from './fixtures.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-5) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  expect(worst).toBeLessThan(tol);
};

describe('KV-cache inference', () => {
  const cfg = microConfig({ layers: 3 });
  // one edit sample: clean latents | ViT | instruction | CoT (CE at every token) | noisy target
  const full = buildBatch(
    cfg,
    [
      { mode: 1, kind: 2, expert: 1, len: 6, sample: 0 },
      { mode: 1, kind: 1, expert: 0, len: 5, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 4, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 7, sample: 0, ce: true },
      { mode: 2, kind: 3, expert: 1, len: 6, sample: 0, mse: true },
    ],
    21,
  );
  const cotStart = 15;
  const cotEnd = 22;

  it('decoding token by token gives the logits of a full forward; cached denoising gives its velocities', async () => {
    using model = MotModel.create(cfg, { seed: 2, grads: false });
    randomizeParams(model, 3);
    const ref = await model.forward(full, { logits: true, velocities: true });
    const V = cfg.vocab;
    using cache = new KvCache();
    // prefill the context up to and including the first CoT token
    const pre = await model.infer(cache, sliceBatch(full, 0, cotStart + 1, cfg.vitPatchDim, cfg.latentChannels), { write: true, lastLogits: true });
    expect(pre.cached).toBe(cotStart + 1);
    close(pre.lastLogits!, ref.logits!.subarray(0, V));
    // decode the rest of the CoT one token at a time, extending the causal segment
    for (let i = cotStart + 1; i < cotEnd; i++) {
      const r = await model.infer(cache, sliceBatch(full, i, i + 1, cfg.vitPatchDim, cfg.latentChannels), {
        write: true,
        extendLast: true,
        lastLogits: true,
      });
      close(r.lastLogits!, ref.logits!.subarray((i - cotStart) * V, (i - cotStart + 1) * V));
    }
    expect(cache.length).toBe(cotEnd);
    expect(cache.segments().length).toBe(16); // 4 segments, the CoT one grown in place
    // denoising pass: image queries attend to the cache without writing to it
    const noisy = sliceBatch(full, cotEnd, full.ids.length, cfg.vitPatchDim, cfg.latentChannels);
    for (let k = 0; k < 2; k++) {
      const d = await model.infer(cache, noisy, { velocities: true });
      close(d.velocities!, ref.velocities!);
      expect(cache.length).toBe(cotEnd);
    }
  });

  it('clone() forks a context: the image-only prefix serves as the no-text CFG context', async () => {
    using model = MotModel.create(cfg, { seed: 2, grads: false });
    randomizeParams(model, 4);
    using a = new KvCache();
    await model.infer(a, sliceBatch(full, 0, 11, cfg.vitPatchDim, cfg.latentChannels), { write: true });
    using b = a.clone();
    await model.infer(a, sliceBatch(full, 11, cotEnd, cfg.vitPatchDim, cfg.latentChannels), { write: true });
    expect(a.length).toBe(cotEnd);
    expect(b.length).toBe(11);
    // the fork answers like a fresh cache prefilled with the same prefix
    using c = new KvCache();
    await model.infer(c, sliceBatch(full, 0, 11, cfg.vitPatchDim, cfg.latentChannels), { write: true });
    const noisy = sliceBatch(full, cotEnd, full.ids.length, cfg.vitPatchDim, cfg.latentChannels);
    const vb = await model.infer(b, noisy, { velocities: true });
    const vc = await model.infer(c, noisy, { velocities: true });
    expect(Array.from(vb.velocities!)).toEqual(Array.from(vc.velocities!));
  });

  it('bad cached passes give errors', async () => {
    using model = MotModel.create(cfg, { seed: 2, grads: false });
    using cache = new KvCache();
    await expect(
      model.infer(cache, sliceBatch(full, 0, 3, cfg.vitPatchDim, cfg.latentChannels), { extendLast: true }),
    ).rejects.toThrow("model.infer: 'extendLast' needs a non-empty cache");
  });

  it('a long denoising pass (the training kernel over the new rows) gives the full forward\'s velocities', async () => {
    // 24 noisy tokens after a 3-segment context: the CPU takes the full attention kernel for passes of
    // >= 16 new tokens that open a segment, the per-query kernel below that
    const big = buildBatch(
      cfg,
      [
        { mode: 1, kind: 2, expert: 1, len: 9, sample: 0 },
        { mode: 1, kind: 1, expert: 0, len: 7, sample: 0 },
        { mode: 0, kind: 0, expert: 0, len: 10, sample: 0 },
        { mode: 2, kind: 3, expert: 1, len: 24, sample: 0, mse: true },
      ],
      33,
    );
    using model = MotModel.create(cfg, { seed: 2, grads: false });
    randomizeParams(model, 6);
    const ref = await model.forward(big, { velocities: true });
    using cache = new KvCache();
    await model.infer(cache, sliceBatch(big, 0, 26, cfg.vitPatchDim, cfg.latentChannels), { write: true });
    const noisy = sliceBatch(big, 26, 50, cfg.vitPatchDim, cfg.latentChannels);
    const d = await model.infer(cache, noisy, { velocities: true });
    close(d.velocities!, ref.velocities!);
    // and twice in a row (the scratch rows of the full kernel are reused)
    const d2 = await model.infer(cache, noisy, { velocities: true });
    expect(Array.from(d2.velocities!)).toEqual(Array.from(d.velocities!));
  });
});
