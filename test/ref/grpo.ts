// float64 references of kernels/grpo, written from Flow-GRPO's formulas (stat_tracking.py and the
// train loop's clipped surrogate), with the policy's log-probability from the flow step reference.
import { flowStepRef } from './sampler.js';

export function grpoAdvantagesRef(
  rewards: ArrayLike<number>,
  groups: ArrayLike<number>,
  o: { globalStd: boolean; eps: number; clipMax: number; stdThreshold: number },
): { adv: Float64Array; flags: Int32Array; zeroStdRatio: number; mean: number; std: number; groups: number } {
  const B = rewards.length;
  const members = new Map<number, number[]>();
  for (let i = 0; i < B; i++) members.set(groups[i], [...(members.get(groups[i]) ?? []), rewards[i]]);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const std = (a: number[]) => Math.sqrt(a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / a.length);
  const all = Array.from(rewards);
  const adv = new Float64Array(B);
  const flags = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    const g = members.get(groups[i])!;
    if (std(g) <= o.stdThreshold) {
      flags[i] = 1;
      continue;
    }
    const a = (rewards[i] - mean(g)) / ((o.globalStd ? std(all) : std(g)) + o.eps);
    adv[i] = Math.min(o.clipMax, Math.max(-o.clipMax, a));
  }
  const zero = [...members.values()].filter((g) => std(g) <= o.stdThreshold).length;
  return { adv, flags, zeroStdRatio: zero / members.size, mean: mean(all), std: std(all), groups: members.size };
}

export interface GrpoLossRef {
  loss: number;
  policy: number;
  kl: number;
  clipFrac: number;
  approxKl: number;
  logp: Float64Array;
}

/** The loss of one timestep as a function of v (for finite differences), with its statistics. */
export function grpoLossRef(
  mode: 'sde' | 'cps',
  v: Float64Array,
  x: Float64Array,
  xNext: Float64Array,
  meanRef: Float64Array | null,
  offsets: number[],
  C: number,
  sigma: ArrayLike<number>,
  sigmaNext: ArrayLike<number>,
  logpOld: ArrayLike<number>,
  adv: ArrayLike<number>,
  o: { noiseLevel: number; sigmaMax: number; clipRange: number; beta: number },
): GrpoLossRef {
  const step = flowStepRef(mode, x, v, null, offsets, C, sigma, sigmaNext, o.noiseLevel, o.sigmaMax, xNext);
  const B = offsets.length - 1;
  let policy = 0;
  let kl = 0;
  let clipped = 0;
  let akl = 0;
  for (let b = 0; b < B; b++) {
    const ratio = Math.exp(step.logp[b] - logpOld[b]);
    const rc = Math.min(1 + o.clipRange, Math.max(1 - o.clipRange, ratio));
    policy += Math.max(-adv[b] * ratio, -adv[b] * rc);
    if (Math.abs(ratio - 1) > o.clipRange) clipped++;
    akl += 0.5 * (step.logp[b] - logpOld[b]) ** 2;
    if (meanRef && o.beta > 0) {
      let s = 0;
      for (let j = offsets[b] * C; j < offsets[b + 1] * C; j++) s += (step.mean[j] - meanRef[j]) ** 2;
      kl += s / ((offsets[b + 1] - offsets[b]) * C) / (2 * step.std[b] ** 2);
    }
  }
  return { loss: policy / B + (o.beta * kl) / B, policy: policy / B, kl: kl / B, clipFrac: clipped / B, approxKl: akl / B, logp: step.logp };
}
