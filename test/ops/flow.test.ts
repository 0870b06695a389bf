// The rectified-flow step (Euler ODE, Flow-GRPO's sde and cps forms) and the per-sample flow noise,
// against float64 references written from the formulas (test/ref/sampler.ts, test/ref/philox.ts).
import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { type FlowMode, flowNoise, flowStep } from '../../src/ops/sampler.js';
import { Scope, expectClose, f64, intTensor, poisoned, randArray, tensor } from '../helpers.js';
import { flowStreamRef, philoxNormals } from '../ref/philox.js';
import { flowStepRef } from '../ref/sampler.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const C = 12;
// four samples of 5, 0, 9 and 3 rows: an empty one and ragged sizes
const OFFSETS = [0, 5, 5, 14, 17];
const N = 17;
const S = OFFSETS.length - 1;

function run(mode: FlowMode, sigma: number[], sigmaNext: number[], opts: { noiseLevel?: number; sigmaMax?: number; xPrev?: Float64Array } = {}) {
  const x = randArray(N * C, 1, 1);
  const v = randArray(N * C, 2, 1);
  const eps = randArray(N * C, 3, 1);
  const xNext = scope.track(opts.xPrev ? tensor(opts.xPrev, [N, C]) : poisoned([N, C]));
  const mean = scope.track(poisoned([N, C]));
  const std = scope.track(poisoned([S]));
  const logp = scope.track(poisoned([S]));
  flowStep(
    {
      x: scope.track(tensor(x, [N, C])),
      v: scope.track(tensor(v, [N, C])),
      eps: mode === 'ode' ? undefined : scope.track(tensor(eps, [N, C])),
      xNext,
      mean,
      offsets: scope.track(intTensor(OFFSETS)),
      sigma: scope.track(tensor(sigma, [S])),
      sigmaNext: scope.track(tensor(sigmaNext, [S])),
      std,
      logp,
    },
    { mode, logpOnly: opts.xPrev !== undefined, noiseLevel: opts.noiseLevel, sigmaMax: opts.sigmaMax },
  );
  const ref = flowStepRef(mode, f64(Float32Array.from(x)), f64(Float32Array.from(v)), f64(Float32Array.from(eps)), OFFSETS, C,
    Float32Array.from(sigma), Float32Array.from(sigmaNext), opts.noiseLevel ?? 0, opts.sigmaMax ?? 0, opts.xPrev ? f64(Float32Array.from(opts.xPrev)) : null);
  return { got: { xNext: xNext.toFloat32Array(), mean: mean.toFloat32Array(), std: std.toFloat32Array(), logp: logp.toFloat32Array() }, ref, x, v, eps };
}

// per-sample timesteps; the first sample starts at pure noise (sigma 1, where sde uses sigmaMax)
const SIGMA = [1, 0.8, 0.55, 0.3];
const NEXT = [0.9, 0.7, 0.5, 0];

describe('flow_step vs float64 reference', () => {
  for (const [mode, noiseLevel] of [['ode', 0], ['sde', 0.7], ['sde', 1.3], ['cps', 0.7], ['cps', 1]] as const)
    it(`${mode}${mode === 'ode' ? '' : `, noise level ${noiseLevel}`}: next sample, mean, std and log-probability`, () => {
      // sde needs dt < 0 and sigma > 0 everywhere: its last sample steps 0.3 -> 0.1
      const next = mode === 'sde' ? [0.9, 0.7, 0.5, 0.1] : NEXT;
      const { got, ref } = run(mode, SIGMA, next, { noiseLevel, sigmaMax: 0.9 });
      expectClose(got.mean, ref.mean, { atol: 1e-5, rtol: 1e-5, name: 'mean' });
      expectClose(got.xNext, ref.xNext, { atol: 1e-5, rtol: 1e-5, name: 'xNext' });
      expectClose(got.std, ref.std, { atol: 1e-6, rtol: 1e-6, name: 'std' });
      expectClose(got.logp, ref.logp, { atol: 1e-5, rtol: 1e-5, name: 'logp' });
      if (mode === 'ode') expect(Array.from(got.std).concat(Array.from(got.logp)).every((z) => z === 0)).toBe(true);
      else expect(got.std[0]).toBeGreaterThan(0);
      // the empty sample's log-probability is 0, not NaN
      expect(got.logp[1]).toBe(0);
    });

  it('logpOnly reads a recorded next sample and writes its mean, std and log-probability, leaving it as it was', () => {
    for (const mode of ['sde', 'cps'] as const) {
      const xPrev = randArray(N * C, 9, 1.5);
      const { got, ref } = run(mode, SIGMA, [0.9, 0.7, 0.5, 0.1], { noiseLevel: 0.8, sigmaMax: 0.9, xPrev });
      expectClose(got.xNext, Float32Array.from(xPrev), { atol: 0, rtol: 0, name: 'xNext unchanged' });
      expectClose(got.mean, ref.mean, { atol: 1e-5, rtol: 1e-5, name: 'mean' });
      expectClose(got.logp, ref.logp, { atol: 1e-5, rtol: 1e-5, name: `${mode} logp` });
      // replaying the drawn sample gives back the log-probability it was drawn with
      const drawn = run(mode, SIGMA, [0.9, 0.7, 0.5, 0.1], { noiseLevel: 0.8, sigmaMax: 0.9 });
      const replay = run(mode, SIGMA, [0.9, 0.7, 0.5, 0.1], { noiseLevel: 0.8, sigmaMax: 0.9, xPrev: f64(drawn.got.xNext) });
      expectClose(replay.got.logp, drawn.got.logp, { atol: 1e-6, rtol: 1e-6, name: `${mode} replayed logp` });
    }
  });

  it('the sde log-probability is the Gaussian density of the sample it draws, and the draw has that std', () => {
    const { got } = run('sde', [0.95, 0.95, 0.95, 0.95], [0.85, 0.85, 0.85, 0.85], { noiseLevel: 0.7, sigmaMax: 0.9 });
    for (let s = 0; s < S; s++) {
      const lo = OFFSETS[s] * C;
      const hi = OFFSETS[s + 1] * C;
      if (hi === lo) continue;
      const sd = got.std[s];
      let dens = 0;
      let sq = 0;
      for (let j = lo; j < hi; j++) {
        const d = got.xNext[j] - got.mean[j];
        dens += -0.5 * Math.log(2 * Math.PI * sd * sd) - (d * d) / (2 * sd * sd);
        sq += d * d;
      }
      expect(got.logp[s]).toBeCloseTo(dens / (hi - lo), 4);
      // sqrt(0.95 / 0.05) * 0.7 * sqrt(0.1)
      expect(sd).toBeCloseTo(Math.sqrt(0.95 / 0.05) * 0.7 * Math.sqrt(0.1), 5);
      // eps ~ U(-1, 1) here: variance 1/3 of std^2
      expect(sq / (hi - lo) / (sd * sd)).toBeGreaterThan(0.15);
      expect(sq / (hi - lo) / (sd * sd)).toBeLessThan(0.6);
    }
  });

  it('a constant velocity field moves x by exactly v times the schedule span under ODE steps', () => {
    const sched = [1, 0.83, 0.61, 0.42, 0.2, 0];
    const x0 = randArray(N * C, 4, 1);
    const vConst = randArray(N * C, 5, 1);
    const x = scope.track(tensor(x0, [N, C]));
    const v = scope.track(tensor(vConst, [N, C]));
    const next = scope.track(poisoned([N, C]));
    const mean = scope.track(poisoned([N, C]));
    const offsets = scope.track(intTensor(OFFSETS));
    for (let i = 0; i + 1 < sched.length; i++) {
      flowStep(
        { x, v, xNext: next, mean, offsets, sigma: scope.track(tensor(Array(S).fill(sched[i]), [S])), sigmaNext: scope.track(tensor(Array(S).fill(sched[i + 1]), [S])), std: scope.track(poisoned([S])), logp: scope.track(poisoned([S])) },
        { mode: 'ode' },
      );
      x.upload(next.toFloat32Array());
    }
    const want = Float32Array.from(x0).map((a, j) => a - Math.fround(vConst[j]));
    expectClose(x.toFloat32Array(), want, { atol: 2e-6, rtol: 1e-6, name: 'x after the schedule' });
  });

  it('a sample with out-of-range timesteps gets NaN, the others are unaffected', () => {
    const { got, ref } = run('sde', [0.9, 0.8, 0.5, 0.3], [0.95, 0.7, 0.4, 0.1], { noiseLevel: 0.7, sigmaMax: 0.9 });
    expect(Number.isNaN(got.std[0]) && Number.isNaN(got.logp[0]) && Number.isNaN(got.mean[0]) && Number.isNaN(got.xNext[4 * C])).toBe(true);
    expectClose(got.logp.subarray(2), ref.logp.subarray(2), { atol: 1e-5, rtol: 1e-5, name: 'the valid samples' });
    expectClose(got.mean.subarray(5 * C), ref.mean.subarray(5 * C), { atol: 1e-5, rtol: 1e-5, name: 'valid means' });
  });

  it('argument errors name the argument, what was expected and what came', () => {
    const x = scope.track(tensor(randArray(N * C, 1), [N, C]));
    const s4 = scope.track(tensor([0.5, 0.5, 0.5, 0.5], [S]));
    const off = scope.track(intTensor(OFFSETS));
    const base = { x, v: x, xNext: x, mean: x, offsets: off, sigma: s4, sigmaNext: s4, std: s4, logp: s4 };
    expect(() => flowStep(base, { mode: 'sde', noiseLevel: 0.7, sigmaMax: 0.9 })).toThrow("flow_step: argument 'eps' expected a Tensor, received undefined");
    expect(() => flowStep(base, { mode: 'bogus' as never })).toThrow("flow_step: argument 'mode' expected 'ode' | 'sde' | 'cps', received 'bogus'");
    expect(() => flowStep(base, { mode: 'ode', logpOnly: true })).toThrow("flow_step: argument 'logpOnly' expected false with mode 'ode'");
    expect(() => flowStep({ ...base, eps: x }, { mode: 'sde', noiseLevel: 0, sigmaMax: 0.9 })).toThrow("flow_step: argument 'noiseLevel' expected a finite number > 0, received 0");
    expect(() => flowStep({ ...base, eps: x }, { mode: 'sde', noiseLevel: 0.7, sigmaMax: 1 })).toThrow("flow_step: argument 'sigmaMax' expected a finite number > 0 < 1, received 1");
    expect(() => flowStep({ ...base, eps: x }, { mode: 'cps', noiseLevel: 1.5 })).toThrow("flow_step: argument 'noiseLevel' expected a finite number >= 0 <= 1, received 1.5");
    expect(() => flowStep({ ...base, offsets: scope.track(intTensor([0, 5, 4, 14, 17])) }, { mode: 'ode' })).toThrow("flow_step: argument 'offsets' expected non-decreasing values, received 5 then 4 at sample 1");
    expect(() => flowStep({ ...base, offsets: scope.track(intTensor([0, 5, 5, 14, 16])) }, { mode: 'ode' })).toThrow("flow_step: argument 'offsets' expected offsets[4] = 17 (the row count), received offsets[4] = 16");
    expect(() => flowStep({ ...base, offsets: scope.track(intTensor([1, 5, 5, 14, 17])) }, { mode: 'ode' })).toThrow("flow_step: argument 'offsets' expected offsets[0] = 0");
    expect(() => flowStep({ ...base, sigma: scope.track(tensor([0.5, 0.5, 0.5], [3])) }, { mode: 'ode' })).toThrow("flow_step: argument 'sigma' expected 4 elements (like the sample count (offsets' length - 1)), received shape [3]");
    expect(() => flowStep({ ...base, mean: scope.track(tensor(randArray(C, 1), [1, C])) }, { mode: 'ode' })).toThrow("flow_step: argument 'mean' expected 204 elements (like 'x')");
    expect(() => flowStep({ ...base, offsets: x as never }, { mode: 'ode' })).toThrow("flow_step: argument 'offsets' expected dtype i32");
  });
});

describe('flow_noise vs the Philox reference', () => {
  const keys = [7, 7, 123456, -3];
  const draw = (offsets: number[], ks: number[], seed: number, step: number, rows: number) => {
    const out = scope.track(poisoned([rows, C]));
    flowNoise(out, scope.track(intTensor(offsets)), scope.track(intTensor(ks)), seed, step);
    return out.toFloat32Array();
  };

  it('element j of sample s is Philox normal j of (seed, key, step)', () => {
    const got = draw(OFFSETS, keys, 2026, 3, N);
    for (let s = 0; s < S; s++) {
      const n = (OFFSETS[s + 1] - OFFSETS[s]) * C;
      const want = philoxNormals(2026n, flowStreamRef(keys[s], 3), n);
      expectClose(got.subarray(OFFSETS[s] * C, OFFSETS[s + 1] * C), want, { atol: 2e-5, rtol: 1e-5, name: `sample ${s}` });
    }
  });

  it('a sample draws the same noise whatever batch it is in, and different noise for another key, step or seed', () => {
    const batch = draw(OFFSETS, keys, 11, 0, N);
    const alone = draw([0, 9], [123456], 11, 0, 9);
    expect(Array.from(batch.subarray(5 * C, 14 * C))).toEqual(Array.from(alone));
    // the two samples with key 7 (5 and 0 rows) share their draws; a third sample of key 7 of 3 rows starts the same
    expect(Array.from(draw([0, 3], [7], 11, 0, 3))).toEqual(Array.from(batch.subarray(0, 3 * C)));
    const corr = (a: Float32Array, b: Float32Array) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < a.length; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
      }
      return ab / Math.sqrt(aa * bb);
    };
    const big = (k: number, step: number, seed: number) => draw([0, 400], [k], seed, step, 400);
    const ref = big(1, 0, 5);
    for (const other of [big(2, 0, 5), big(1, 1, 5), big(1, 0, 6)]) expect(Math.abs(corr(ref, other))).toBeLessThan(0.05);
    const mean = ref.reduce((a, b) => a + b, 0) / ref.length;
    const sd = Math.sqrt(ref.reduce((a, b) => a + (b - mean) ** 2, 0) / ref.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('argument errors', () => {
    const out = scope.track(poisoned([N, C]));
    const off = scope.track(intTensor(OFFSETS));
    expect(() => flowNoise(out, off, scope.track(intTensor([1, 2, 3])), 1, 0)).toThrow("flow_noise: argument 'keys' expected 4 elements (like the sample count (offsets' length - 1)), received shape [3]");
    expect(() => flowNoise(out, off, scope.track(intTensor(keys)), -1, 0)).toThrow("flow_noise: argument 'seed' expected an integer >= 0");
    expect(() => flowNoise(out, off, scope.track(intTensor(keys)), 1, 2 ** 32)).toThrow("flow_noise: argument 'step' expected an integer >= 0 <= 4294967295, received 4294967296");
    expect(() => flowNoise(scope.track(Tensor.zeros([N * C])), off, scope.track(intTensor(keys)), 1, 0)).toThrow("flow_noise: argument 'out' expected a 2-D tensor, received shape [204]");
  });
});
