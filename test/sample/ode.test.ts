// The ODE sampler's pieces against their definitions (DESIGN.md section 3): the shifted schedule, and
// the batched sampler's steps (flow_step) and guidance (cfg_combine) driven by fake velocity fields
// with known solutions: a stand-in model answers each noise segment from its context (full, no text,
// no image) and its x, so the Euler steps and the CFG wiring are checked apart from any network.
import { afterEach, describe, expect, it } from 'vitest';

import type { HostBatch } from '../../src/model/batch.js';
import type { InferOptions, MotModel } from '../../src/model/model.js';
import { type BatchSampleOptions, sampleBatch } from '../../src/sample/batch.js';
import { guidanceActive, odeSchedule } from '../../src/sample/ode.js';
import { Scope, expectClose, randArray } from '../helpers.js';
import { cfgCombineRef } from '../ref/sampler.js';
import { cfg, ctx, picture } from './fixture.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const C = cfg.latentChannels;
const T = 9; // the fixture's 6x6 pictures: a 3x3 latent grid
const KINDS = ['full', 'noText', 'noImage'] as const;
type Kind = (typeof KINDS)[number];

/**
 * A stand-in for the model: prefills are ignored; a denoising pass answers every noisy token with
 * field(kind of its segment's context, its x row, its t). With one request, the prefill holds its
 * contexts in the order full, no text, no image (ids 0, 1, 2; full alone without guidance).
 */
function fakeModel(field: (kind: Kind, x: Float32Array, t: number) => Float32Array) {
  const calls: { t: number; kinds: Kind[]; x: Float32Array }[] = [];
  const model = {
    device: 'cpu',
    async infer(_cache: unknown, b: HostBatch, o: InferOptions = {}) {
      if (o.write) return { cached: 0 };
      const latents = o.latents!.toFloat32Array();
      const out = new Float32Array(latents.length);
      const kinds: Kind[] = [];
      let row = 0;
      for (let s = 0; s < b.seg.length / 4; s++) {
        const kind = KINDS[b.seg[s * 4 + 3]];
        kinds.push(kind);
        for (let i = b.seg[s * 4]; i < b.seg[s * 4 + 1]; i++) {
          if (b.kind[i] !== 3) continue;
          out.set(field(kind, latents.subarray(row * C, (row + 1) * C), b.latentT[row]), row * C);
          row++;
        }
      }
      calls.push({ t: b.latentT[0], kinds, x: latents.slice(0, T * C) });
      o.velocitiesOut!.upload(out);
      return { cached: 0 };
    },
  };
  return { model: model as unknown as MotModel, calls };
}

const req = { source: picture(3), instruction: 'remove the red circle', cot: '', key: 1 };
const unguided: BatchSampleOptions = { steps: 2, timestepShift: 1, cfgText: 1, cfgImg: 1, cfgInterval: [0, 1], renorm: 'global', renormMin: 1, seed: 0 };
const run = async (field: Parameters<typeof fakeModel>[0], o: Partial<BatchSampleOptions>, x1: Float32Array) => {
  const f = fakeModel(field);
  const r = await sampleBatch(f.model, ctx, [req], { ...unguided, ...o, noise: [x1] });
  return { x: r.outputs[0].latents, calls: f.calls };
};

describe('Euler steps (flow_step) on fields with known solutions', () => {
  it('a constant field moves x by exactly v * dt summed over the schedule (x(0) = x(1) - v: against v)', async () => {
    const v = Float32Array.from(randArray(T * C, 1, 2));
    const x1 = Float32Array.from(randArray(T * C, 2));
    for (const [steps, shift] of [
      [2, 1],
      [11, 1],
      [50, 3],
    ]) {
      const ts = odeSchedule(steps, shift);
      let k = 0;
      const { x } = await run(() => { const tok = k++ % T; return v.subarray(tok * C, (tok + 1) * C); }, { steps, timestepShift: shift }, x1);
      const want = Array.from(x1, (x0, j) => {
        let acc = x0;
        for (let i = 0; i + 1 < ts.length; i++) acc += (ts[i + 1] - ts[i]) * v[j];
        return acc;
      });
      expectClose(x, want, { atol: 1e-5, rtol: 0, name: `${steps} steps` });
      expectClose(x, Array.from(x1, (a, j) => a - v[j]), { atol: 1e-5, rtol: 0, name: `${steps} steps, closed form` });
    }
  });

  it('asks the field at t_0 .. t_{N-2}, on the current x', async () => {
    const ts = odeSchedule(6, 2);
    const x1 = Float32Array.from(randArray(T * C, 3));
    const { calls } = await run(() => new Float32Array(C).fill(2), { steps: 6, timestepShift: 2 }, x1);
    expect(calls.map((c) => c.t)).toEqual(ts.slice(0, 5).map((t) => Math.fround(t)));
    let x = Array.from(x1);
    calls.forEach((c, i) => {
      expectClose(c.x, x, { atol: 1e-5, rtol: 1e-6, name: `x at step ${i}` });
      x = x.map((xi) => xi + (ts[i + 1] - ts[i]) * 2);
    });
  });

  it('a linear field dx/dt = a x matches x(0) = x(1) e^(-a) to first order in the step', async () => {
    const a = 1.5;
    const x1 = Float32Array.from({ length: T * C }, (_, j) => [1, -2, 0.5][j % 3]);
    const field = (_: Kind, xr: Float32Array) => xr.map((xi) => a * xi);
    const err = async (steps: number) => {
      const { x } = await run(field, { steps }, x1);
      return Math.max(...Array.from(x, (xi, j) => Math.abs(xi - x1[j] * Math.exp(-a))));
    };
    const e = [await err(11), await err(21), await err(41)];
    // Euler: x_{k+1} = (1 - a h) x_k, so x(0) = x(1) (1 - a h)^(1/h), error ~ C h
    expect(e[0]).toBeLessThan(0.1);
    expect(e[1] / e[0]).toBeGreaterThan(0.45);
    expect(e[1] / e[0]).toBeLessThan(0.55);
    expect(e[2] / e[1]).toBeGreaterThan(0.45);
    expect(e[2] / e[1]).toBeLessThan(0.55);
    const { x } = await run(field, { steps: 21 }, x1);
    expectClose(x, Array.from(x1, (xi) => xi * (1 - a / 20) ** 20), { atol: 1e-6, rtol: 1e-5 });
  });
});

describe('CFG wiring of the three contexts', () => {
  // three distinguishable contexts: a unit vector each, per token
  const unit = (c: number) => Float32Array.from({ length: C }, (_, i) => (i === c ? 1 : 0));
  const FIELDS: Record<Kind, Float32Array> = { full: unit(0), noText: unit(1), noImage: unit(2) };
  // renorm 'global' with a floor of 1 is no renorm: the plain two-scale combination. One step from
  // x_1 = 0 at t = 1 to t = 0: x_0 = -v, so v = -x_0.
  const guided = async (sText: number, sImg: number, interval: [number, number] = [0, 1]) => {
    const f = fakeModel((kind) => FIELDS[kind]);
    const r = await sampleBatch(f.model, ctx, [req], { ...unguided, cfgText: sText, cfgImg: sImg, cfgInterval: interval, noise: [new Float32Array(T * C)] });
    const v = Array.from(r.outputs[0].latents, (x) => -x + 0);
    return { v, token0: v.slice(0, 4), kinds: f.calls[0].kinds };
  };

  it('v = v_noImg + s_i (v_noText + s_t (v_full - v_noText) - v_noImg)', async () => {
    const g = await guided(4, 2);
    expect(g.token0).toEqual([8, -6, -1, 0]);
    expect([...new Set(g.kinds)]).toEqual(['full', 'noText', 'noImage']);
    expect((await guided(5, 2)).token0).toEqual([10, -8, -1, 0]);
    expect((await guided(4, 3)).token0).toEqual([12, -9, -2, 0]);
    for (let t = 1; t < T; t++) expect(g.v.slice(t * C, t * C + 4)).toEqual([8, -6, -1, 0]);
  });

  it('s_i <= 1: the no-image context drops out (v = v_noText + s_t (v_full - v_noText))', async () => {
    expect((await guided(4, 1)).token0).toEqual([4, -3, 0, 0]);
    expect((await guided(4, 0.5)).token0).toEqual([4, -3, 0, 0]);
  });

  it('outside the interval, or with nothing to guide, the full context alone (and only it is asked)', async () => {
    const full = Array.from(FIELDS.full);
    const a = await guided(4, 2, [0, 0.4]);
    expect(a.v.slice(0, C)).toEqual(full);
    expect(a.kinds).toEqual(['full']);
    expect((await guided(1, 1)).kinds).toEqual(['full']);
    // the interval is closed at its upper end (the step is at t = 1)
    expect((await guided(4, 2, [0.5, 1])).token0).toEqual([8, -6, -1, 0]);
    // s_t = 1 with s_i > 1 still guides the image step
    expect((await guided(1, 2)).token0).toEqual([2, 0, -1, 0]);
  });

  it('guidanceActive: inside [lo, hi] and a scale away from 1', () => {
    const g = { ...unguided, cfgText: 4, cfgImg: 2, cfgInterval: [0.2, 0.8] as [number, number] };
    expect([0.1, 0.2, 0.5, 0.8, 0.9].map((t) => guidanceActive(g, t))).toEqual([false, true, true, true, false]);
    expect(guidanceActive({ ...unguided }, 0.5)).toBe(false);
    expect(guidanceActive({ ...unguided, cfgImg: 1.01 }, 0.5)).toBe(true);
    expect(guidanceActive({ ...unguided, cfgText: 0.9 }, 0.5)).toBe(true);
  });

  it('with renormalisation: the native combine of the three fields, as the float64 reference has it', async () => {
    const fr = [randArray(T * C, 5), randArray(T * C, 6), randArray(T * C, 7)].map((a) => Float32Array.from(a));
    for (const renorm of ['global', 'channel', 'text_channel'] as const) {
      // each context's field is its own random field over the tokens (rows looked up by token index)
      let k = 0;
      const f = fakeModel((kind) => {
        const src = fr[KINDS.indexOf(kind)];
        const tok = k++ % T;
        return src.subarray(tok * C, (tok + 1) * C);
      });
      const r = await sampleBatch(f.model, ctx, [req], { ...unguided, cfgText: 4, cfgImg: 2, renorm, renormMin: 0, noise: [new Float32Array(T * C)] });
      const got = r.outputs[0].latents.map((x) => -x);
      expectClose(got, cfgCombineRef(Float64Array.from(fr[0]), Float64Array.from(fr[1]), Float64Array.from(fr[2]), C, 4, 2, renorm, 0), { atol: 1e-5, name: renorm });
    }
  });
});
describe('ODE schedule', () => {
  it('linspace(1, 0, N), then shifted by s t / (1 + (s - 1) t)', () => {
    expect(odeSchedule(5, 1)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    const s = 3;
    const ts = odeSchedule(5, s);
    [1, 0.75, 0.5, 0.25, 0].forEach((u, i) => expect(ts[i]).toBeCloseTo((s * u) / (1 + (s - 1) * u), 14));
    expect(ts[0]).toBe(1);
    expect(ts[4]).toBe(0);
    // the shift keeps t near 1 longer: every inner point moves up
    expect(ts[2]).toBeCloseTo(0.75, 14);
    expect(odeSchedule(2, 3)).toEqual([1, 0]);
    for (const bad of [1, 2.5, 0]) expect(() => odeSchedule(bad, 1)).toThrow(`odeSchedule: argument 'steps' expected an integer >= 2, received ${bad}`);
  });
});

