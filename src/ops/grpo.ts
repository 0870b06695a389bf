// Flow-GRPO ops (kernels/grpo): group-normalised advantages, and the clipped policy loss of one
// trained timestep with its gradient with respect to the predicted velocity (see grpo.h for the
// formulas).
import { argError, describeValue } from '../native/errors.js';
import type { Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { boolArg, numberArg, numelArg, openUnitArg, rankArg, sameDevice, tensorArg } from './validate.js';

export interface GrpoAdvantageOptions {
  /** number of groups G (ids in [0, G)), at most the sample count: a batch has no more non-empty groups */
  groups: number;
  /** normalise by the std of all rewards instead of each group's (Flow-GRPO's `global_std`) */
  globalStd?: boolean;
  /** added to the std (default 1e-4) */
  eps?: number;
  /** advantages clipped to +-clipMax (default 5) */
  clipMax?: number;
  /** a group whose own std is <= this is flagged and gets A = 0 (default 0: all rewards equal) */
  stdThreshold?: number;
}

/**
 * adv[B], flags[B] (1: the sample's group has zero std) and stats[4] = [zero-std ratio over groups,
 * mean reward, std of the rewards, groups] from rewards[B] and int32 group ids[B].
 */
export const grpoAdvantages = defineOp(
  'grpo_advantages',
  (rewards: Tensor, groupIds: Tensor, adv: Tensor, flags: Tensor, stats: Tensor, o: GrpoAdvantageOptions) => {
    const op = 'grpo_advantages';
    tensorArg(op, 'rewards', rewards);
    rankArg(op, 'rewards', rewards, 1);
    tensorArg(op, 'groups', groupIds, 'i32');
    tensorArg(op, 'adv', adv);
    tensorArg(op, 'flags', flags, 'i32');
    tensorArg(op, 'stats', stats);
    for (const [k, t] of [['groups', groupIds], ['adv', adv], ['flags', flags]] as const) numelArg(op, k, t, rewards.numel, "'rewards'");
    numelArg(op, 'stats', stats, 4);
    sameDevice(op, { rewards, groups: groupIds, adv, flags, stats });
    if (typeof o !== 'object' || o === null) throw argError(op, 'options', 'an object with groups', describeValue(o));
    const G = numberArg(op, 'groupCount', o.groups, { integer: true, min: 1, max: rewards.numel });
    const globalStd = o.globalStd === undefined ? false : boolArg(op, 'globalStd', o.globalStd);
    const eps = numberArg(op, 'eps', o.eps ?? 1e-4, { min: 0, exclusiveMin: true });
    const clipMax = numberArg(op, 'clipMax', o.clipMax ?? 5, { min: 0, exclusiveMin: true });
    const thr = numberArg(op, 'stdThreshold', o.stdThreshold ?? 0, { min: 0 });
    if (groupIds.device === 'cpu') {
      const ids = groupIds.download() as Int32Array;
      ids.forEach((g, i) => {
        if (!(g >= 0 && g < G)) throw argError(op, 'groups', `ids in [0, ${G})`, `${g} at sample ${i}`);
      });
    }
    return { tensors: [rewards, groupIds, adv, flags, stats], ints: [G, globalStd ? 1 : 0], floats: [eps, clipMax, thr] };
  },
);

export interface GrpoLossTensors {
  /** the policy's predicted velocity at x [N, C] */
  v: Tensor;
  /** x_t [N, C] and the recorded next sample [N, C] */
  x: Tensor;
  xNext: Tensor;
  /** the frozen reference policy's transition mean [N, C] (read when beta > 0) */
  meanRef?: Tensor;
  /** int32 [B+1]: sample b owns rows [offsets[b], offsets[b+1]) */
  offsets: Tensor<'i32'>;
  sigma: Tensor;
  sigmaNext: Tensor;
  /** the rollout's log-probabilities [B] and advantages [B] */
  logpOld: Tensor;
  adv: Tensor;
  /** written: dloss/dv [N, C], the new log-probabilities [B], stats [5] = [loss, policy loss, KL, clip fraction, approx KL] */
  dv: Tensor;
  logp: Tensor;
  stats: Tensor;
}

export interface GrpoLossOptions {
  mode: 'sde' | 'cps';
  noiseLevel: number;
  /** sde: the schedule's t_1 */
  sigmaMax?: number;
  /** Flow-GRPO's clip_range */
  clipRange: number;
  /** KL weight (0: meanRef is not read) */
  beta?: number;
}

/** The clipped surrogate + beta KL of one trained timestep, its statistics, and dloss/dv. */
export const grpoLoss = defineOp('grpo_loss', (t: GrpoLossTensors, o: GrpoLossOptions) => {
  const op = 'grpo_loss';
  if (typeof t !== 'object' || t === null) throw argError(op, 'tensors', 'an object of tensors', describeValue(t));
  if (typeof o !== 'object' || o === null) throw argError(op, 'options', 'an object', describeValue(o));
  if (o.mode !== 'sde' && o.mode !== 'cps') throw argError(op, 'mode', "'sde' | 'cps'", describeValue(o.mode));
  const beta = numberArg(op, 'beta', o.beta ?? 0, { min: 0 });
  tensorArg(op, 'v', t.v);
  rankArg(op, 'v', t.v, 2);
  for (const k of ['x', 'xNext', 'dv'] as const) {
    tensorArg(op, k, t[k]);
    numelArg(op, k, t[k], t.v.numel, "'v'");
  }
  if (beta > 0) {
    tensorArg(op, 'meanRef', t.meanRef);
    numelArg(op, 'meanRef', t.meanRef!, t.v.numel, "'v'");
  } else if (t.meanRef !== undefined) tensorArg(op, 'meanRef', t.meanRef);
  tensorArg(op, 'offsets', t.offsets, 'i32');
  rankArg(op, 'offsets', t.offsets, 1);
  const B = t.offsets.numel - 1;
  if (B < 1) throw argError(op, 'offsets', 'at least 2 elements', `shape [${t.offsets.shape.join(', ')}]`, 'E_SHAPE');
  for (const k of ['sigma', 'sigmaNext', 'logpOld', 'adv', 'logp'] as const) {
    tensorArg(op, k, t[k]);
    numelArg(op, k, t[k], B, "the sample count (offsets' length - 1)");
  }
  tensorArg(op, 'stats', t.stats);
  numelArg(op, 'stats', t.stats, 5);
  const { meanRef, ...rest } = t;
  sameDevice(op, meanRef ? { ...rest, meanRef } : rest);
  let sigmaMax = 0;
  if (o.mode === 'sde') {
    numberArg(op, 'noiseLevel', o.noiseLevel, { min: 0, exclusiveMin: true });
    sigmaMax = openUnitArg(op, 'sigmaMax', o.sigmaMax);
  } else numberArg(op, 'noiseLevel', o.noiseLevel, { min: 0, exclusiveMin: true, max: 1 });
  const clipRange = numberArg(op, 'clipRange', o.clipRange, { min: 0 });
  return {
    tensors: [t.v, t.x, t.xNext, meanRef ?? t.v, t.offsets, t.sigma, t.sigmaNext, t.logpOld, t.adv, t.dv, t.logp, t.stats],
    ints: [o.mode === 'sde' ? 1 : 2],
    floats: [o.noiseLevel, sigmaMax, clipRange, beta],
  };
});
