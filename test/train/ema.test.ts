// The EMA against its recursion in float64: ema_0 = p_0, ema_k = d * ema_{k-1} + (1 - d) * p_k.
import { describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { Ema } from '../../src/train/ema.js';
import { expectClose, randArray } from '../helpers.js';
import { microConfig, randomizeParams } from '../model/fixtures.js';

describe('EMA of the weights', () => {
  it('after k updates equals the float64 recursion, tensor by tensor', async () => {
    using model = MotModel.create(microConfig(), { seed: 2 });
    randomizeParams(model, 11);
    const d = 0.8;
    using ema = new Ema(model, d);
    const ref = model.params.map((p) => Float64Array.from(p.toFloat32Array()));
    for (let k = 1; k <= 6; k++) {
      model.params.forEach((p, i) => {
        const v = Float32Array.from(randArray(p.numel, 100 * k + i, 1 + k));
        p.upload(v);
        for (let j = 0; j < v.length; j++) ref[i][j] = d * ref[i][j] + (1 - d) * v[j];
      });
      await ema.update();
    }
    ema.weights.forEach((w, i) => expectClose(w.toFloat32Array(), ref[i], { atol: 1e-6, rtol: 1e-5, name: model.layout[i].name }));
  });

  it('starts as a copy of the weights, and the weights are left as they are', async () => {
    using model = MotModel.create(microConfig(), { seed: 2 });
    randomizeParams(model, 12);
    using ema = new Ema(model, 0.5);
    const before = model.params.map((p) => p.toFloat32Array());
    ema.weights.forEach((w, i) => expect(w.toFloat32Array()).toEqual(before[i]));
    await ema.update();
    model.params.forEach((p, i) => expect(p.toFloat32Array()).toEqual(before[i]));
  });

  it('load puts back saved values; a missing tensor and a bad decay are named', () => {
    using model = MotModel.create(microConfig(), { seed: 2 });
    using ema = new Ema(model, 0.9);
    const saved = new Map(model.layout.map((s, i) => [s.name, Float32Array.from(randArray(model.params[i].numel, 7 + i))]));
    ema.load(saved);
    ema.weights.forEach((w, i) => expect(w.toFloat32Array()).toEqual(saved.get(model.layout[i].name)));
    const name = model.layout[3].name;
    saved.delete(name);
    expect(() => ema.load(saved)).toThrow(`Ema: checkpoint has no EMA tensor '${name}'`);
    for (const bad of [1, -0.1, Number.NaN]) expect(() => new Ema(model, bad)).toThrow(`Ema: argument 'decay' expected a number in [0, 1), received ${bad}`);
  });
});

describe('EMA of the weights: the ends of the decay range', () => {
  it('decay 0 is accepted (it is in [0, 1)): the EMA then follows the weights, ema_k = p_k', async () => {
    using model = MotModel.create(microConfig(), { seed: 2 });
    randomizeParams(model, 13);
    using ema = new Ema(model, 0);
    randomizeParams(model, 14);
    await ema.update();
    ema.weights.forEach((w, i) => expect(w.toFloat32Array(), model.layout[i].name).toEqual(model.params[i].toFloat32Array()));
  });
});
