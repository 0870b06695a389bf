// Flow-GRPO's kernels against float64 references written from the formulas (test/ref/grpo.ts):
// advantages per group or global std, flagged all-equal groups, clipping; the clipped policy loss of
// one timestep, its statistics, and its gradient with respect to the velocity against finite
// differences of the reference.
import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { grpoAdvantages, grpoLoss } from '../../src/ops/grpo.js';
import { Scope, expectClose, f64, finiteDiff, intTensor, poisoned, randArray, sampleIndices, tensor } from '../helpers.js';
import { grpoAdvantagesRef, grpoLossRef } from '../ref/grpo.js';
import { flowStepRef } from '../ref/sampler.js';

const scope = new Scope();
afterEach(() => scope.dispose());

function advantages(rewards: number[], groups: number[], o: { groups: number; globalStd?: boolean; eps?: number; clipMax?: number; stdThreshold?: number }) {
  const B = rewards.length;
  const adv = scope.track(poisoned([B]));
  const flags = scope.track(Tensor.zeros([B], { dtype: 'i32' }));
  const stats = scope.track(poisoned([4]));
  grpoAdvantages(scope.track(tensor(rewards, [B])), scope.track(intTensor(groups)), adv, flags, stats, o);
  return { adv: adv.toFloat32Array(), flags: Array.from(flags.download() as Int32Array), stats: stats.toFloat32Array() };
}

describe('grpo_advantages', () => {
  // group 0: varied; 1: all equal; 2: a single rollout; 3: one outlier among 29 equal (clipped at 5)
  const rewards = [1, 3, 2, 6, 4, 4, 4, 7.5, 1, ...Array(29).fill(0)];
  const groups = [0, 0, 0, 0, 1, 1, 1, 2, 3, ...Array(29).fill(3)];
  for (const globalStd of [false, true])
    it(`${globalStd ? 'global' : 'per-group'} std: the reference's advantages, zero for flagged groups, and the statistics`, () => {
      const o = { globalStd, eps: 1e-4, clipMax: 5, stdThreshold: 0 };
      const got = advantages(rewards, groups, { groups: 4, ...o });
      const want = grpoAdvantagesRef(rewards, groups, o);
      expectClose(got.adv, want.adv, { atol: 1e-5, rtol: 1e-5, name: 'adv' });
      expect(got.flags).toEqual(Array.from(want.flags));
      expect(got.flags.slice(4, 8)).toEqual([1, 1, 1, 1]);
      expect(Array.from(got.adv.subarray(4, 8))).toEqual([0, 0, 0, 0]);
      expect(got.stats[0]).toBeCloseTo(0.5, 6); // groups 1 and 2 of 4
      expect(got.stats[1]).toBeCloseTo(want.mean, 5);
      expect(got.stats[2]).toBeCloseTo(want.std, 5);
      expect(got.stats[3]).toBe(4);
      if (!globalStd) {
        expect(got.adv[8]).toBeCloseTo(5, 5); // (1 - 1/30) / (sqrt(29)/30 + 1e-4) = 5.38, clipped
        // group 0: mean 3, std sqrt(3.5)
        expect(got.adv[3]).toBeCloseTo(3 / (Math.sqrt(3.5) + 1e-4), 5);
      } else expect(got.adv[3]).toBeCloseTo((6 - 3) / (want.std + 1e-4), 5);
    });

  it('a std threshold flags nearly-equal groups (Edit-R1); empty groups do not count; ids are checked', () => {
    const got = advantages([1, 1.01, 0.99, 5, 1], [0, 0, 0, 2, 2], { groups: 4, stdThreshold: 0.05 });
    expect(got.flags).toEqual([1, 1, 1, 0, 0]);
    expect(Array.from(got.adv.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(got.adv[3]).toBeCloseTo(2 / (2 + 1e-4), 5); // group 2: 5 and 1, mean 3, std 2
    expect(got.stats[0]).toBeCloseTo(0.5, 6);
    expect(got.stats[3]).toBe(2);
    expect(() => advantages([1, 2, 3], [0, 3, 0], { groups: 3 })).toThrow("grpo_advantages: argument 'groups' expected ids in [0, 3), received 3 at sample 1");
    expect(() => advantages([1, 2], [0, 0], { groups: 0 })).toThrow("grpo_advantages: argument 'groupCount' expected an integer >= 1 <= 2, received 0");
    expect(() => advantages([1, 2], [0, 0], { groups: 3 })).toThrow("grpo_advantages: argument 'groupCount' expected an integer >= 1 <= 2, received 3");
    expect(() => advantages([1, 2], [0, 0], { groups: 1, eps: 0 })).toThrow("grpo_advantages: argument 'eps' expected a finite number > 0, received 0");
    expect(() => advantages([1, 2], [0, 0], { groups: 1, clipMax: 0 })).toThrow("grpo_advantages: argument 'clipMax' expected a finite number > 0, received 0");
    expect(() => advantages([1, 2], [0, 0], { groups: 1, globalStd: 1 as never })).toThrow("grpo_advantages: argument 'globalStd' expected a boolean, received 1");
  });
});

const C = 8;
const OFF = [0, 3, 7, 12];
const N = 12;
const B = 3;
const SIG = [1, 0.8, 0.6];
const NEXT = [0.9, 0.7, 0.45];

function lossCase(mode: 'sde' | 'cps', opts: { beta: number; clipRange: number; logpShift: number[]; adv: number[] }) {
  const x = f64(Float32Array.from(randArray(N * C, 1)));
  const v = f64(Float32Array.from(randArray(N * C, 2)));
  const vRef = f64(Float32Array.from(Array.from(v, (a, j) => a + 0.1 * Math.sin(j))));
  const o = { noiseLevel: 0.7, sigmaMax: 0.9, clipRange: opts.clipRange, beta: opts.beta };
  // a rollout drawn from the reference policy: x_next = mean_ref + std eps
  const roll = flowStepRef(mode, x, vRef, f64(Float32Array.from(randArray(N * C, 3))), OFF, C, SIG, NEXT, o.noiseLevel, o.sigmaMax);
  const xNext = f64(Float32Array.from(roll.xNext));
  const meanRef = f64(Float32Array.from(roll.mean));
  const logpNow = flowStepRef(mode, x, v, null, OFF, C, SIG, NEXT, o.noiseLevel, o.sigmaMax, xNext).logp;
  const logpOld = f64(Float32Array.from(Array.from(logpNow, (l, b) => l + opts.logpShift[b])));
  return { x, v, xNext, meanRef, logpOld, o, adv: opts.adv };
}

function runLoss(mode: 'sde' | 'cps', c: ReturnType<typeof lossCase>, v = c.v) {
  const dv = scope.track(poisoned([N, C]));
  const logp = scope.track(poisoned([B]));
  const stats = scope.track(poisoned([5]));
  grpoLoss(
    {
      v: scope.track(tensor(v, [N, C])),
      x: scope.track(tensor(c.x, [N, C])),
      xNext: scope.track(tensor(c.xNext, [N, C])),
      meanRef: scope.track(tensor(c.meanRef, [N, C])),
      offsets: scope.track(intTensor(OFF)),
      sigma: scope.track(tensor(SIG, [B])),
      sigmaNext: scope.track(tensor(NEXT, [B])),
      logpOld: scope.track(tensor(c.logpOld, [B])),
      adv: scope.track(tensor(c.adv, [B])),
      dv,
      logp,
      stats,
    },
    { mode, noiseLevel: c.o.noiseLevel, sigmaMax: c.o.sigmaMax, clipRange: c.o.clipRange, beta: c.o.beta },
  );
  return { dv: dv.toFloat32Array(), logp: logp.toFloat32Array(), stats: stats.toFloat32Array() };
}

const ref = (mode: 'sde' | 'cps', c: ReturnType<typeof lossCase>, v = c.v) =>
  grpoLossRef(mode, v, c.x, c.xNext, c.meanRef, OFF, C, SIG, NEXT, c.logpOld, c.adv, c.o);

describe('grpo_loss', () => {
  for (const mode of ['sde', 'cps'] as const)
    for (const [name, beta, shift, clipRange] of [
      ['on-policy (ratio 1), no KL', 0, [0, 0, 0], 0.2],
      ['off-policy, some ratios clipped, with KL', 0.5, [0.3, -0.02, -0.4], 0.1],
    ] as const)
      it(`${mode}, ${name}: value, statistics and dloss/dv against the reference and finite differences`, () => {
        const c = lossCase(mode, { beta, clipRange, logpShift: [...shift], adv: [1.5, -0.7, 2] });
        const got = runLoss(mode, c);
        const want = ref(mode, c);
        expect(got.stats[0]).toBeCloseTo(want.loss, 5);
        expect(got.stats[1]).toBeCloseTo(want.policy, 5);
        expect(got.stats[2]).toBeCloseTo(want.kl, 5);
        expect(got.stats[3]).toBeCloseTo(want.clipFrac, 6);
        expect(got.stats[4]).toBeCloseTo(want.approxKl, 5);
        expectClose(got.logp, want.logp, { atol: 1e-5, rtol: 1e-5, name: 'logp' });
        if (name.startsWith('on')) {
          expect(got.stats[3]).toBe(0);
          expect(got.stats[4]).toBeCloseTo(0, 8);
        } else expect(got.stats[3]).toBeGreaterThan(0);
        const idx = sampleIndices(N * C, 24, 7);
        const fd = finiteDiff((vv) => ref(mode, c, vv).loss, c.v, idx, 1e-5);
        expectClose(idx.map((i) => got.dv[i]), fd, { atol: 2e-5, rtol: 2e-3, name: 'dv' });
      });

  it('on-policy, a step against the gradient raises the log-probability of the high-advantage sample and lowers the loss', () => {
    const c = lossCase('sde', { beta: 0, clipRange: 0.2, logpShift: [0, 0, 0], adv: [2, -1, 0] });
    const got = runLoss('sde', c);
    const v2 = Float64Array.from(c.v, (a, j) => a - 0.05 * got.dv[j]);
    const after = ref('sde', c, v2);
    const before = ref('sde', c);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.logp[0]).toBeGreaterThan(before.logp[0]);
    expect(after.logp[1]).toBeLessThan(before.logp[1]);
    // A = 0: no gradient on its rows
    expect(Array.from(got.dv.subarray(7 * C, 12 * C)).every((g) => g === 0)).toBe(true);
  });

  it('KL against itself is 0, and so is its gradient', () => {
    const c = lossCase('cps', { beta: 1, clipRange: 0.2, logpShift: [0, 0, 0], adv: [0, 0, 0] });
    const selfRef = { ...c, meanRef: f64(Float32Array.from(flowStepRef('cps', c.x, c.v, null, OFF, C, SIG, NEXT, 0.7, 0.9, c.xNext).mean)) };
    const got = runLoss('cps', selfRef);
    expect(Math.abs(got.stats[2])).toBeLessThan(1e-9);
    expect(Math.max(...Array.from(got.dv, Math.abs))).toBeLessThan(1e-6);
  });

  it('argument errors', () => {
    const c = lossCase('sde', { beta: 0, clipRange: 0.2, logpShift: [0, 0, 0], adv: [1, 1, 1] });
    const base = () => ({
      v: scope.track(tensor(c.v, [N, C])), x: scope.track(tensor(c.x, [N, C])), xNext: scope.track(tensor(c.xNext, [N, C])),
      offsets: scope.track(intTensor(OFF)), sigma: scope.track(tensor(SIG, [B])), sigmaNext: scope.track(tensor(NEXT, [B])),
      logpOld: scope.track(tensor(c.logpOld, [B])), adv: scope.track(tensor(c.adv, [B])), dv: scope.track(poisoned([N, C])),
      logp: scope.track(poisoned([B])), stats: scope.track(poisoned([5])),
    });
    const o = { mode: 'sde' as const, noiseLevel: 0.7, sigmaMax: 0.9, clipRange: 0.2 };
    expect(() => grpoLoss(base(), o)).not.toThrow();
    expect(() => grpoLoss(base(), { ...o, beta: 0.1 })).toThrow("grpo_loss: argument 'meanRef' expected a Tensor, received undefined");
    expect(() => grpoLoss(base(), { ...o, mode: 'ode' as never })).toThrow("grpo_loss: argument 'mode' expected 'sde' | 'cps', received 'ode'");
    expect(() => grpoLoss(base(), { ...o, clipRange: -1 })).toThrow("grpo_loss: argument 'clipRange' expected a finite number >= 0, received -1");
    expect(() => grpoLoss(base(), { ...o, mode: 'cps', noiseLevel: 1.5 })).toThrow("grpo_loss: argument 'noiseLevel' expected a finite number > 0 <= 1, received 1.5");
    expect(() => grpoLoss({ ...base(), adv: scope.track(tensor([1, 2], [2])) }, o)).toThrow("grpo_loss: argument 'adv' expected 3 elements (like the sample count (offsets' length - 1)), received shape [2]");
    expect(() => grpoLoss({ ...base(), stats: scope.track(poisoned([4])) }, o)).toThrow("grpo_loss: argument 'stats' expected 5 elements, received shape [4]");
    expect(() => grpoLoss({ ...base(), sigmaNext: scope.track(tensor([0.9, 0.9, 0.9], [3])) }, o)).toThrow(
      'grpo_loss: sample 1 has timesteps 0.800000 -> 0.900000 that the sde step does not define (expected 0 <= sigmaNext < sigma <= 1 and a std > 0)',
    );
    expect(() => grpoLoss({ ...base(), offsets: scope.track(intTensor([0, 3, 7, 11])) }, o)).toThrow("grpo_loss: argument 'offsets' expected to run from 0 to the row count 12, received 0 .. 11");
  });
});

describe('grpo ops: the edge cases', () => {
  it('grpo_loss: a single sample (offsets [0, N]) is a batch, against the reference', () => {
    for (const mode of ['sde', 'cps'] as const) {
      const c = lossCase(mode, { beta: 0.5, clipRange: 0.1, logpShift: [0, 0, 0], adv: [1, 1, 1] });
      const off = [0, N];
      const logpOld = flowStepRef(mode, c.x, c.v, null, off, C, [SIG[0]], [NEXT[0]], c.o.noiseLevel, c.o.sigmaMax, c.xNext).logp.map((l) => l + 0.05);
      const dv = scope.track(poisoned([N, C]));
      const logp = scope.track(poisoned([1]));
      const stats = scope.track(poisoned([5]));
      grpoLoss(
        {
          v: scope.track(tensor(c.v, [N, C])), x: scope.track(tensor(c.x, [N, C])), xNext: scope.track(tensor(c.xNext, [N, C])),
          meanRef: scope.track(tensor(c.meanRef, [N, C])), offsets: scope.track(intTensor(off)), sigma: scope.track(tensor([SIG[0]], [1])),
          sigmaNext: scope.track(tensor([NEXT[0]], [1])), logpOld: scope.track(tensor(Array.from(logpOld), [1])), adv: scope.track(tensor([1.5], [1])),
          dv, logp, stats,
        },
        { mode, noiseLevel: c.o.noiseLevel, sigmaMax: c.o.sigmaMax, clipRange: c.o.clipRange, beta: c.o.beta },
      );
      const want = grpoLossRef(mode, c.v, c.x, c.xNext, c.meanRef, off, C, [SIG[0]], [NEXT[0]], logpOld, [1.5], c.o);
      const got = stats.toFloat32Array();
      expect(got[0], mode).toBeCloseTo(want.loss, 5);
      expect(got[2], mode).toBeCloseTo(want.kl, 5);
      expectClose(logp.toFloat32Array(), want.logp, { atol: 1e-5, rtol: 1e-5, name: `${mode} logp` });
    }
  });

  it('grpo_advantages: a negative std threshold is refused by the op itself, in its own words', () => {
    let message = '';
    try {
      advantages([1, 2], [0, 0], { groups: 1, stdThreshold: -0.5 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe("grpo_advantages: argument 'stdThreshold' expected a finite number >= 0, received -0.5");
  });
});
