// The model's opened loss interface: forwardHeads gives the logits and velocities rows, backward({dlogits,
// dvel}) takes their gradients; SFT's CE + MSE as a client of it (src/train/losses.ts) reproduces the
// fused loss inside MotModel.forward: the same losses and the same gradient of every parameter.
import { describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { Tensor } from '../../src/native/tensor.js';
import { ceMseLoss } from '../../src/train/losses.js';
import { editAndUnderstanding, microConfig, randomizeParams } from './fixtures.js';

const cfg = microConfig();

function model(): MotModel {
  const m = MotModel.create(cfg, { seed: 3 });
  randomizeParams(m, 4, { scale: 0.3 });
  return m;
}

describe('forwardHeads and backward({ dlogits, dvel })', () => {
  it('the CE + MSE client gives the fused path losses and gradients, with weights', async () => {
    const batch = editAndUnderstanding(cfg, 2);
    using a = model();
    using b = model();
    for (const w of [{ wCe: 1, wMse: 1 }, { wCe: 0.3, wMse: 2 }]) {
      a.zeroGrad();
      b.zeroGrad();
      const fused = await a.forward(batch, { ...w, logits: true, velocities: true });
      await a.backward();
      const heads = await b.forwardHeads(batch);
      expect(Array.from(heads.logits.toFloat32Array())).toEqual(Array.from(fused.logits!));
      expect(Array.from(heads.velocities.toFloat32Array())).toEqual(Array.from(fused.velocities!));
      const l = ceMseLoss(heads, batch, w);
      expect(l.nCe).toBe(fused.nCe);
      expect(l.nMse).toBe(fused.nMse);
      expect(l.ce).toBeCloseTo(fused.ce, 6);
      expect(l.mse).toBeCloseTo(fused.mse, 6);
      expect(l.loss).toBeCloseTo(fused.loss, 6);
      await b.backward({ dlogits: l.dlogits, dvel: l.dvel });
      a.grads!.forEach((g, i) => expect(Array.from(b.grads![i].toFloat32Array()), `grad ${a.layout[i].name}`).toEqual(Array.from(g.toFloat32Array())));
      for (const t of [heads.logits, heads.velocities, l.dlogits, l.dvel]) t.dispose();
    }
  });

  it('gradients flow from each head alone (an absent one is zero), linearly in the given gradient', async () => {
    const batch = editAndUnderstanding(cfg, 3);
    using m = model();
    const heads = await m.forwardHeads(batch);
    const ones = (t: Tensor) => Tensor.from(new Float32Array(t.numel).fill(1), t.shape);
    using dv = ones(heads.velocities);
    m.zeroGrad();
    await m.backward({ dvel: dv });
    const once = m.grads!.map((g) => g.toFloat32Array());
    // the LM head gets nothing from the velocity head, the velocity head's weight does
    const lm = m.layout.findIndex((s) => s.name === 'lm_head.weight');
    const l2v = m.layout.findIndex((s) => s.name === 'llm2vae.weight');
    expect(lm).toBeGreaterThanOrEqual(0);
    expect(l2v).toBeGreaterThanOrEqual(0);
    expect(Math.max(...Array.from(once[l2v], Math.abs))).toBeGreaterThan(0);
    expect(Array.from(once[lm]).every((v) => v === 0)).toBe(true);
    // doubling the gradient doubles every parameter gradient (accumulating a second identical pass)
    await m.backward({ dvel: dv });
    m.grads!.forEach((g, i) => {
      const twice = g.toFloat32Array();
      for (let j = 0; j < twice.length; j += 97) expect(twice[j]).toBeCloseTo(2 * once[i][j], 5);
    });
    heads.logits.dispose();
    heads.velocities.dispose();
  });

  it('refuses a backward without a loss, and gradients of the wrong size', async () => {
    const batch = editAndUnderstanding(cfg, 4);
    using m = model();
    const heads = await m.forwardHeads(batch);
    await expect(m.backward()).rejects.toThrow('model.backward: the last forward ran without its loss; pass the head gradients (backward({ dlogits, dvel }))');
    using wrong = Tensor.zeros([3, 5]);
    await expect(m.backward({ dvel: wrong })).rejects.toThrow(`model.backward: option 'dvel' expected ${heads.nNoisy} x ${cfg.latentChannels} elements (the last forward's velocities), received 15`);
    await expect(m.backward({ dlogits: 'x' as never })).rejects.toThrow("model.backward: argument 'dlogits' expected a Tensor, received 'x'");
    heads.logits.dispose();
    heads.velocities.dispose();
  });
});
