// The model's opened loss interface: forwardHeads gives the logits and velocities rows, backward({dlogits,
// dvel}) takes their gradients; SFT's CE + MSE as a client of it (src/train/losses.ts) reproduces the
// fused loss inside MotModel.forward: the same losses and the same gradient of every parameter.
import { describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { Tensor } from '../../src/native/tensor.js';
import type { HostBatch } from '../../src/model/batch.js';
import { TokenKind } from '../../src/model/batch.js';
import { ceMseLoss, headTargets } from '../../src/train/losses.js';
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

describe('headTargets and ceMseLoss on given heads', () => {
  const K = TokenKind;
  // text, clean latent 0, noisy latent 1, vit, noisy latent 2, text
  const kinds = [K.text, K.cleanLatent, K.noisyLatent, K.vit, K.noisyLatent, K.text];
  const hostBatch = (extra: Partial<HostBatch>): HostBatch => ({ kind: Int32Array.from(kinds), ...extra }) as unknown as HostBatch;

  it('headTargets: the CE rows (token 0 is a target, -1 is not), the noisy latents\' targets and mask in latent order', () => {
    const tg = headTargets(
      hostBatch({ ceTargets: Int32Array.from([0, -1, 5, -1, -1, 2]), mseTarget: Float32Array.from([10, 11, 20, 21, 30, 31]), mseMask: Float32Array.from([1, 0, 1]) }),
      2,
    );
    expect(Array.from(tg.ce)).toEqual([0, 5, 2]);
    expect(Array.from(tg.mseTarget)).toEqual([20, 21, 30, 31]);
    expect(Array.from(tg.mseMask)).toEqual([0, 1]);
    // no targets given: no CE rows, zero velocity targets, every noisy row counted
    const none = headTargets(hostBatch({}), 2);
    expect(Array.from(none.ce)).toEqual([]);
    expect(Array.from(none.mseTarget)).toEqual([0, 0, 0, 0]);
    expect(Array.from(none.mseMask)).toEqual([1, 1]);
  });

  const heads = (nCe: number, nNoisy: number, V = 4, C = 2) => ({
    logits: Tensor.from(Float32Array.from({ length: nCe * V }, (_, i) => Math.sin(i)), [nCe, V]),
    velocities: Tensor.from(Float32Array.from({ length: nNoisy * C }, (_, i) => 0.5 * i), [nNoisy, C]),
    nCe,
    nNoisy,
  });
  const free = (...ts: Tensor[]) => ts.forEach((t) => t.dispose());

  it('ceMseLoss: refuses heads whose row counts are not the batch\'s', () => {
    const batch = hostBatch({ ceTargets: Int32Array.from([0, -1, 5, -1, -1, 2]) });
    const h1 = heads(2, 2);
    expect(() => ceMseLoss(h1, batch)).toThrow('ceMseLoss: the batch has 3 CE rows, the heads 2');
    const h2 = heads(3, 1);
    expect(() => ceMseLoss(h2, batch)).toThrow('ceMseLoss: the batch has 2 noisy rows, the heads 1');
    free(h1.logits, h1.velocities, h2.logits, h2.velocities);
  });

  it('ceMseLoss: no CE rows gives CE 0 (not NaN); nMse counts only the masked-in rows, the MSE is over them', () => {
    // noisy rows 1 and 2: row 1 masked out; targets 0, so the MSE is the mean square of velocity row 1 = [1, 1.5]
    const batch = hostBatch({ mseTarget: new Float32Array(6), mseMask: Float32Array.from([1, 0, 1]) });
    const h = heads(0, 2);
    const l = ceMseLoss(h, batch, { wCe: 1, wMse: 2 });
    expect(l.ce).toBe(0);
    expect(l.nCe).toBe(0);
    expect(l.nMse).toBe(1);
    expect(l.mse).toBeCloseTo((1 + 2.25) / 2, 6);
    expect(l.loss).toBeCloseTo(2 * l.mse, 6);
    expect(Array.from(l.dvel.toFloat32Array().subarray(0, 2))).toEqual([0, 0]);
    free(h.logits, h.velocities, l.dlogits, l.dvel);
  });

  it('ceMseLoss: no noisy rows gives MSE 0 and the CE alone', () => {
    const batch = { kind: Int32Array.from([K.text, K.text]), ceTargets: Int32Array.from([1, -1]) } as unknown as HostBatch;
    const h = heads(1, 0);
    const l = ceMseLoss(h, batch, { wCe: 0.5, wMse: 3 });
    const z = [0, 1, 2, 3].map((i) => Math.sin(i));
    const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
    expect(l.ce).toBeCloseTo(lse - z[1], 5);
    expect(l.mse).toBe(0);
    expect(l.nMse).toBe(0);
    expect(l.loss).toBeCloseTo(0.5 * l.ce, 5);
    free(h.logits, h.velocities, l.dlogits, l.dvel);
  });
});
