import { afterAll, describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { rng } from '../helpers.js';
import { motForwardRef } from '../ref/mot.js';
import { editAndUnderstanding, microConfig, randomizeParams } from './fixtures.js';

describe('MoT model vs the float64 reference', () => {
  const cfg = microConfig();
  const model = MotModel.create(cfg, { seed: 3 });
  const ref = randomizeParams(model, 11);
  const batch = editAndUnderstanding(cfg, 5);
  afterAll(() => model.dispose());

  it('forward: losses, logits and velocities match', async () => {
    const got = await model.forward(batch, { logits: true, velocities: true, wCe: 1, wMse: 0.7 });
    const want = motForwardRef({ ...cfg }, ref, batch, 1, 0.7);
    expect(got.nCe).toBe(9);
    expect(got.nMse).toBe(4);
    expect(got.ce).toBeCloseTo(want.ce, 4);
    expect(got.mse).toBeCloseTo(want.mse, 4);
    expect(got.loss).toBeCloseTo(want.loss, 4);
    const lg = got.logits!;
    for (let i = 0; i < lg.length; i++) expect(Math.abs(lg[i] - want.logits[i])).toBeLessThan(1e-4 + 1e-4 * Math.abs(want.logits[i]));
    const vl = got.velocities!;
    for (let i = 0; i < vl.length; i++) expect(Math.abs(vl[i] - want.velocities[i])).toBeLessThan(1e-4 + 1e-4 * Math.abs(want.velocities[i]));
  });

  it('backward: every parameter tensor against float64 finite differences', async () => {
    model.zeroGrad();
    await model.forward(batch, { wCe: 1, wMse: 0.7 });
    await model.backward();
    const r = rng(99);
    const h = 1e-5;
    let checked = 0;
    const failures: string[] = [];
    for (let i = 0; i < model.layout.length; i++) {
      const s = model.layout[i];
      const p = ref.get(s.name)!;
      const g = model.grads![i].toFloat32Array();
      // the largest-gradient coordinate plus two random ones
      let big = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[big])) big = j;
      const coords = [big, Math.floor(r() * p.length), Math.floor(r() * p.length)];
      for (const j of coords) {
        const orig = p[j];
        p[j] = orig + h;
        const lp = motForwardRef({ ...cfg }, ref, batch, 1, 0.7).loss;
        p[j] = orig - h;
        const lm = motForwardRef({ ...cfg }, ref, batch, 1, 0.7).loss;
        p[j] = orig;
        const fd = (lp - lm) / (2 * h);
        const tol = 2e-4 + 2e-2 * Math.abs(fd);
        if (!(Math.abs(g[j] - fd) <= tol)) failures.push(`${s.name}[${j}]: native ${g[j]}, finite difference ${fd}`);
        checked++;
      }
      // every parameter must receive gradient somewhere (no dead path)
      expect(g.some((v) => v !== 0), `${s.name} got no gradient`).toBe(true);
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(model.layout.length * 3);
  });
});
