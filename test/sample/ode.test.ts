// The ODE sampler's pieces against their definitions (DESIGN.md section 3): the shifted schedule,
// Euler steps on fields with known solutions, and the CFG wiring of the three contexts.
import { afterEach, describe, expect, it } from 'vitest';

import { type ContextFields, type Guidance, GuidedField, eulerSolve, guidanceActive, odeSchedule } from '../../src/sample/ode.js';
import { Scope, expectClose, randArray } from '../helpers.js';
import { cfgCombineRef } from '../ref/sampler.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const constant = (v: Float32Array) => async () => v;

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

describe('Euler solve', () => {
  it('a constant field moves x by exactly v * dt summed over the schedule (x(0) = x(1) - v: against v)', async () => {
    const v = Float32Array.from(randArray(64, 1, 2));
    const x1 = Float32Array.from(randArray(64, 2));
    for (const [steps, shift] of [
      [2, 1],
      [11, 1],
      [50, 3],
    ]) {
      const ts = odeSchedule(steps, shift);
      const x = await eulerSolve(Float32Array.from(x1), ts, constant(v));
      const want = Array.from(x1, (x0, j) => {
        let acc = x0;
        for (let i = 0; i + 1 < ts.length; i++) acc += (ts[i + 1] - ts[i]) * v[j];
        return acc;
      });
      expectClose(x, want, { atol: 1e-5, rtol: 0, name: `${steps} steps` });
      // the increments sum to t_end - t_start = -1
      expectClose(x, Array.from(x1, (a, j) => a - v[j]), { atol: 1e-5, rtol: 0, name: `${steps} steps, closed form` });
    }
  });

  it('calls the field at t_0 .. t_{N-2} with the step index, on the current x', async () => {
    const ts = odeSchedule(6, 2);
    const seen: [number, number, number][] = [];
    await eulerSolve(Float32Array.of(1), ts, async (x, t, i) => {
      seen.push([x[0], t, i]);
      return Float32Array.of(2);
    });
    expect(seen.map((s) => s[1])).toEqual(ts.slice(0, 5));
    expect(seen.map((s) => s[2])).toEqual([0, 1, 2, 3, 4]);
    let x = 1;
    seen.forEach(([xs], i) => {
      expect(xs).toBeCloseTo(x, 6);
      x += (ts[i + 1] - ts[i]) * 2;
    });
  });

  it('a linear field dx/dt = a x matches x(0) = x(1) e^(-a) to first order in the step', async () => {
    const a = 1.5;
    const x1 = Float32Array.of(1, -2, 0.5);
    const field = async (x: Float32Array) => x.map((xi) => a * xi);
    const err = async (steps: number) => {
      const x = await eulerSolve(Float32Array.from(x1), odeSchedule(steps, 1), field);
      return Math.max(...Array.from(x, (xi, j) => Math.abs(xi - x1[j] * Math.exp(-a))));
    };
    const e = [await err(11), await err(21), await err(41)];
    // Euler: x_{k+1} = (1 - a h) x_k, so x(0) = x(1) (1 - a h)^(1/h), error ~ C h
    expect(e[0]).toBeLessThan(0.1);
    expect(e[1] / e[0]).toBeGreaterThan(0.45);
    expect(e[1] / e[0]).toBeLessThan(0.55);
    expect(e[2] / e[1]).toBeGreaterThan(0.45);
    expect(e[2] / e[1]).toBeLessThan(0.55);
    // and exactly the discrete solution (1 - a h)^n
    const x = await eulerSolve(Float32Array.from(x1), odeSchedule(21, 1), field);
    expectClose(x, Array.from(x1, (xi) => xi * (1 - a / 20) ** 20), { atol: 1e-6, rtol: 1e-5 });
  });

  it('a field of the wrong size is an error naming the step', async () => {
    await expect(eulerSolve(new Float32Array(4), [1, 0.5, 0], async (_, __, i) => new Float32Array(i === 1 ? 3 : 4))).rejects.toThrow(
      'eulerSolve: the velocity field gave 3 floats at step 1, expected 4 (like x)',
    );
  });
});

describe('CFG wiring of the three contexts', () => {
  const T = 3;
  const C = 4;
  // three distinguishable contexts: a unit vector each, per token
  const A = Float32Array.from({ length: T * C }, (_, i) => (i % C === 0 ? 1 : 0));
  const B = Float32Array.from({ length: T * C }, (_, i) => (i % C === 1 ? 1 : 0));
  const Cn = Float32Array.from({ length: T * C }, (_, i) => (i % C === 2 ? 1 : 0));
  const calls: string[] = [];
  const contexts: ContextFields = {
    full: async () => (calls.push('full'), A),
    noText: async () => (calls.push('noText'), B),
    noImage: async () => (calls.push('noImage'), Cn),
  };
  // renorm 'global' with a floor of 1 is no renorm: the plain two-scale combination
  const plain = (sText: number, sImg: number, interval: [number, number] = [0, 1]): Guidance => ({ cfgText: sText, cfgImg: sImg, cfgInterval: interval, renorm: 'global', renormMin: 1 });
  const at = async (g: Guidance, t = 0.5) => {
    calls.length = 0;
    const f = scope.track(new GuidedField(contexts, g, T, C));
    return Array.from(await f.field(new Float32Array(T * C), t, 0));
  };
  const token0 = (v: number[]) => v.slice(0, C);

  it('v = v_noImg + s_i (v_noText + s_t (v_full - v_noText) - v_noImg)', async () => {
    // per token: A - B has s_t s_i on channel 0 and -(s_t s_i) + s_i on channel 1; C weighs 1 - s_i
    expect(token0(await at(plain(4, 2)))).toEqual([8, -6, -1, 0]);
    expect(calls).toEqual(['full', 'noText', 'noImage']);
    // s_t multiplies (full - noText): +1 on s_t adds s_i * (A - B)
    expect(token0(await at(plain(5, 2)))).toEqual([10, -8, -1, 0]);
    // s_i multiplies (text-guided - noImage): +1 on s_i adds (B + s_t (A - B) - C)
    expect(token0(await at(plain(4, 3)))).toEqual([12, -9, -2, 0]);
    // all three tokens alike
    const all = await at(plain(4, 2));
    for (let t = 1; t < T; t++) expect(all.slice(t * C, t * C + C)).toEqual([8, -6, -1, 0]);
  });

  it('s_i <= 1: the no-image context drops out (v = v_noText + s_t (v_full - v_noText))', async () => {
    expect(token0(await at(plain(4, 1)))).toEqual([4, -3, 0, 0]);
    expect(token0(await at(plain(4, 0.5)))).toEqual([4, -3, 0, 0]);
  });

  it('outside the interval, or with nothing to guide, the full context alone (and only it is asked)', async () => {
    expect(await at(plain(4, 2, [0, 0.4]), 0.5)).toEqual(Array.from(A));
    expect(calls).toEqual(['full']);
    expect(await at(plain(4, 2, [0.6, 1]), 0.5)).toEqual(Array.from(A));
    expect(await at(plain(1, 1), 0.5)).toEqual(Array.from(A));
    expect(calls).toEqual(['full']);
    // the interval is closed at both ends
    expect(token0(await at(plain(4, 2, [0.5, 0.7]), 0.5))).toEqual([8, -6, -1, 0]);
    expect(token0(await at(plain(4, 2, [0.3, 0.5]), 0.5))).toEqual([8, -6, -1, 0]);
    // s_t = 1 with s_i > 1 still guides the image step
    expect(token0(await at(plain(1, 2)))).toEqual([2, 0, -1, 0]);
  });

  it('guidanceActive: inside [lo, hi] and a scale away from 1', () => {
    const g = plain(4, 2, [0.2, 0.8]);
    expect([0.1, 0.2, 0.5, 0.8, 0.9].map((t) => guidanceActive(g, t))).toEqual([false, true, true, true, false]);
    expect(guidanceActive(plain(1, 1), 0.5)).toBe(false);
    expect(guidanceActive(plain(1, 1.01), 0.5)).toBe(true);
    expect(guidanceActive(plain(0.9, 1), 0.5)).toBe(true);
  });

  it('with renormalisation: the native combine of the three fields, as the float64 reference has it', async () => {
    const f = [randArray(T * C, 5), randArray(T * C, 6), randArray(T * C, 7)].map((a) => Float32Array.from(a));
    for (const renorm of ['global', 'channel', 'text_channel'] as const) {
      const g: Guidance = { cfgText: 4, cfgImg: 2, cfgInterval: [0, 1], renorm, renormMin: 0 };
      using field = new GuidedField({ full: constant(f[0]), noText: constant(f[1]), noImage: constant(f[2]) }, g, T, C);
      const got = await field.field(new Float32Array(T * C), 0.3, 0);
      expectClose(got, cfgCombineRef(Float64Array.from(f[0]), Float64Array.from(f[1]), Float64Array.from(f[2]), C, 4, 2, renorm, 0), { atol: 1e-5, name: renorm });
    }
  });
});
