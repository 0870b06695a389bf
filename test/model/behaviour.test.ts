import { describe, expect, it } from 'vitest';

import type { HostBatch } from '../../src/model/batch.js';
import { MotModel } from '../../src/model/model.js';
import { AdamW } from '../../src/train/optimizer.js';
import { buildBatch, editAndUnderstanding, microConfig, randomizeParams } from './fixtures.js';

function clone(b: HostBatch): HostBatch {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, (v as Int32Array | Float32Array).slice()])) as unknown as HostBatch;
}

describe('MoT model behaviour', () => {
  it("a noise segment's tokens change no output outside it", async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 2, { normJitter: 0 });
    const b = editAndUnderstanding(cfg, 3);
    const a = await model.forward(b, { logits: true, velocities: true });
    const b2 = clone(b);
    // perturb every noisy latent (the noise segment's inputs) and its timestep
    let li = 0;
    for (let i = 0; i < b2.kind.length; i++) {
      if (b2.kind[i] === 2) li++;
      else if (b2.kind[i] === 3) {
        for (let c = 0; c < cfg.latentChannels; c++) b2.latents[li * cfg.latentChannels + c] += 0.7;
        b2.latentT[li] = 0.9;
        li++;
      }
    }
    const c = await model.forward(b2, { logits: true, velocities: true });
    // logits at every CE row (text after and around the noise segment) are bit-identical
    expect(Array.from(c.logits!)).toEqual(Array.from(a.logits!));
    // while the noise segment's own outputs did change
    expect(Array.from(c.velocities!)).not.toEqual(Array.from(a.velocities!));
  });

  it('packed samples do not see each other', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 4, { normJitter: 0 });
    const b = editAndUnderstanding(cfg, 3);
    const a = await model.forward(b, { logits: true, velocities: true });
    // change sample 1 (the understanding sample): sample 0's outputs stay bit-identical
    const b2 = clone(b);
    const seg = b2.seg;
    for (let s = 0; s < seg.length / 4; s++) {
      if (seg[s * 4 + 3] !== 1) continue;
      for (let i = seg[s * 4]; i < seg[s * 4 + 1]; i++) if (b2.kind[i] === 0) b2.ids[i] = (b2.ids[i] + 5) % cfg.vocab;
    }
    let vitRow = 0;
    for (let i = 0; i < b2.kind.length; i++) {
      if (b2.kind[i] !== 1) continue;
      if (i >= 19) for (let c = 0; c < cfg.vitPatchDim; c++) b2.vitPatches[vitRow * cfg.vitPatchDim + c] *= -1;
      vitRow++;
    }
    const c = await model.forward(b2, { logits: true, velocities: true });
    const V = cfg.vocab;
    const nCe0 = 4; // CE rows of sample 0 come first
    expect(Array.from(c.logits!.subarray(0, nCe0 * V))).toEqual(Array.from(a.logits!.subarray(0, nCe0 * V)));
    expect(Array.from(c.velocities!)).toEqual(Array.from(a.velocities!));
    expect(Array.from(c.logits!.subarray(nCe0 * V))).not.toEqual(Array.from(a.logits!.subarray(nCe0 * V)));
  });

  it('a micro model overfits one packed batch (loss -> ~0)', async () => {
    const cfg = microConfig({ hidden: 32, mlp: 64 });
    using model = MotModel.create(cfg, { seed: 7 });
    using opt = new AdamW(model, { lr: 3e-3, weightDecay: 0, maxGradNorm: 1 });
    const b = editAndUnderstanding(cfg, 9);
    let first = 0;
    let last = 0;
    for (let step = 0; step < 300; step++) {
      model.zeroGrad();
      const r = await model.forward(b);
      if (step === 0) first = r.loss;
      last = r.loss;
      await model.backward();
      await opt.update();
    }
    expect(first).toBeGreaterThan(1);
    expect(last).toBeLessThan(0.02 * first);
  });

  it('gradient accumulation: two half-weighted backward passes equal one full one', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 5 });
    randomizeParams(model, 6, { normJitter: 0 });
    const b = editAndUnderstanding(cfg, 2);
    model.zeroGrad();
    await model.forward(b);
    await model.backward();
    const once = model.grads!.map((g) => g.toFloat32Array());
    model.zeroGrad();
    for (let k = 0; k < 2; k++) {
      await model.forward(b, { wCe: 0.5, wMse: 0.5 });
      await model.backward();
    }
    model.grads!.forEach((g, i) => {
      const a = g.toFloat32Array();
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - once[i][j])).toBeLessThan(1e-5 + 1e-4 * Math.abs(once[i][j]));
    });
  });

  it('freezing und leaves und and shared gradients untouched and still trains gen', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 5 });
    randomizeParams(model, 8, { normJitter: 0 });
    model.setFrozen({ und: true });
    model.zeroGrad();
    await model.forward(editAndUnderstanding(cfg, 2));
    await model.backward();
    model.layout.forEach((s, i) => {
      const g = model.grads![i].toFloat32Array();
      const nz = g.some((v) => v !== 0);
      if (s.owner === 'gen') expect(nz, s.name).toBe(true);
      else expect(nz, s.name).toBe(false);
    });
    expect(model.trainableIndices().every((i) => model.layout[i].owner === 'gen')).toBe(true);
  });

  it('bad batches give errors naming the field and the token', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1 });
    const b = editAndUnderstanding(cfg, 3);
    const bad = clone(b);
    bad.ids[8] = 999;
    await expect(model.forward(bad)).rejects.toThrow("model.forward: argument 'ids' expected values in [0, 23), received 999 at token 8");
    const bad2 = clone(b);
    bad2.expert[0] = 0;
    await expect(model.forward(bad2)).rejects.toThrow("argument 'expert' expected 1 (gen) for latent token 0, received 0");
    const bad3 = clone(b);
    bad3.seg[1] = 3; // gap
    await expect(model.forward(bad3)).rejects.toThrow(/row/);
    const bad4 = clone(b);
    bad4.vitPatches = bad4.vitPatches.slice(0, 5);
    bad4.vitPos = bad4.vitPos.slice(0, 1);
    await expect(model.forward(bad4)).rejects.toThrow("model.forward: argument 'vitPatches' expected 7 rows (one per ViT token), received 1");
    // the model survives: a good batch still runs
    const ok = await model.forward(b);
    expect(Number.isFinite(ok.loss)).toBe(true);
  });

  it('a single-token text-only batch works', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1 });
    const b = buildBatch(cfg, [{ mode: 0, kind: 0, expert: 0, len: 1, sample: 0, ce: true }], 1);
    const r = await model.forward(b);
    expect(r.nCe).toBe(1);
    await model.backward();
  });
});
