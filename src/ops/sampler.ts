// Sampler ops (kernels/sampler): BAGEL's two-scale CFG with renormalisation, the rectified-flow step
// (Euler ODE, Flow-GRPO's SDE in its sde and cps forms) and the per-sample flow noise.
import type { Tensor } from '../native/tensor.js';
import { argError, describeValue } from '../native/errors.js';
import { defineOp } from './registry.js';
import { boolArg, numberArg, numelArg, openUnitArg, rankArg, sameDevice, tensorArg } from './validate.js';

export const CFG_RENORM = { global: 0, channel: 1, text_channel: 2 } as const;
export type CfgRenorm = keyof typeof CFG_RENORM;

/** out = CFG(v, vNoText, vNoImage) with scales sText, sImg and renorm (DESIGN.md section 3) */
export const cfgCombine = defineOp(
  'cfg_combine',
  (v: Tensor, vNoText: Tensor, vNoImage: Tensor, out: Tensor, sText: number, sImg: number, renorm: CfgRenorm, renormMin: number) => {
    const op = 'cfg_combine';
    tensorArg(op, 'v', v);
    rankArg(op, 'v', v, 2);
    tensorArg(op, 'vNoText', vNoText);
    tensorArg(op, 'vNoImage', vNoImage);
    tensorArg(op, 'out', out);
    numelArg(op, 'vNoText', vNoText, v.numel, "'v'");
    numelArg(op, 'vNoImage', vNoImage, v.numel, "'v'");
    numelArg(op, 'out', out, v.numel, "'v'");
    sameDevice(op, { v, vNoText, vNoImage, out });
    numberArg(op, 'sText', sText);
    numberArg(op, 'sImg', sImg);
    numberArg(op, 'renormMin', renormMin, { min: 0, max: 1 });
    if (!(renorm in CFG_RENORM)) throw argError(op, 'renorm', "'global' | 'channel' | 'text_channel'", describeValue(renorm));
    return { tensors: [v, vNoText, vNoImage, out.reshape(v.shape)], ints: [CFG_RENORM[renorm]], floats: [sText, sImg, renormMin] };
  },
);

export const FLOW_MODE = { ode: 0, sde: 1, cps: 2 } as const;
export type FlowMode = keyof typeof FLOW_MODE;

/** The tensors of one flow step over S samples packed as rows: sample s owns rows [offsets[s], offsets[s+1]). */
export interface FlowStepTensors {
  /** x_t [N, C] */
  x: Tensor;
  /** predicted velocity [N, C] */
  v: Tensor;
  /** standard normal noise [N, C] (sde and cps, not read with logpOnly; omit for ode) */
  eps?: Tensor;
  /** x_{t_next} [N, C]: written, or read with logpOnly (a recorded rollout's next sample) */
  xNext: Tensor;
  /** the transition's mean [N, C], written */
  mean: Tensor;
  /** int32 [S+1], 0 = offsets[0] <= ... <= offsets[S] = N */
  offsets: Tensor<'i32'>;
  /** t_i and t_{i+1} per sample [S] (t = 1 is noise) */
  sigma: Tensor;
  sigmaNext: Tensor;
  /** written [S]: the standard deviation of x_next given x (0 for ode) */
  std: Tensor;
  /** written [S]: the log-probability of x_next, averaged over the sample's elements (0 for ode) */
  logp: Tensor;
}

export interface FlowStepOptions {
  mode: FlowMode;
  /** Read xNext instead of drawing it: mean, std and logp of a recorded transition (sde, cps). */
  logpOnly?: boolean;
  /** Flow-GRPO's noise level a (sde: > 0; cps: in [0, 1]). */
  noiseLevel?: number;
  /** sde: the schedule's first step below 1 (t_1), used in place of sigma where sigma == 1. */
  sigmaMax?: number;
}

/** Checks host-resident offsets (a device tensor is checked by its kernel's clamping instead). */
function offsetsArg(op: string, offsets: Tensor<'i32'>, rows: number): number {
  rankArg(op, 'offsets', offsets, 1);
  const S = offsets.numel - 1;
  if (S < 0) throw argError(op, 'offsets', 'at least 1 element', `shape [${offsets.shape.join(', ')}]`, 'E_SHAPE');
  if (offsets.device === 'cpu') {
    const o = offsets.download();
    if (o[0] !== 0) throw argError(op, 'offsets', 'offsets[0] = 0', `offsets[0] = ${o[0]}`);
    for (let s = 0; s < S; s++)
      if (o[s + 1] < o[s]) throw argError(op, 'offsets', 'non-decreasing values', `${o[s]} then ${o[s + 1]} at sample ${s}`);
    if (o[S] !== rows) throw argError(op, 'offsets', `offsets[${S}] = ${rows} (the row count)`, `offsets[${S}] = ${o[S]}`);
  }
  return S;
}

/**
 * One rectified-flow step for a packed batch of samples with per-sample timesteps (kernels/sampler/flow.h):
 * the Euler ODE step, or Flow-GRPO's SDE step in its `sde` or `cps` form with mean, std and log-probability.
 */
export const flowStep = defineOp('flow_step', (t: FlowStepTensors, o: FlowStepOptions) => {
  const op = 'flow_step';
  if (typeof t !== 'object' || t === null) throw argError(op, 'tensors', 'an object of tensors', describeValue(t));
  if (typeof o !== 'object' || o === null) throw argError(op, 'options', 'an object', describeValue(o));
  if (!(o.mode in FLOW_MODE)) throw argError(op, 'mode', "'ode' | 'sde' | 'cps'", describeValue(o.mode));
  const logpOnly = o.logpOnly === undefined ? false : boolArg(op, 'logpOnly', o.logpOnly);
  if (logpOnly && o.mode === 'ode') throw argError(op, 'logpOnly', "false with mode 'ode' (an ODE step has no density)", 'true');
  tensorArg(op, 'x', t.x);
  rankArg(op, 'x', t.x, 2);
  const needEps = o.mode !== 'ode' && !logpOnly;
  if (needEps || t.eps !== undefined) tensorArg(op, 'eps', t.eps);
  for (const k of ['v', 'xNext', 'mean'] as const) tensorArg(op, k, t[k]);
  for (const k of ['v', 'eps', 'xNext', 'mean'] as const) if (t[k]) numelArg(op, k, t[k], t.x.numel, "'x'");
  tensorArg(op, 'offsets', t.offsets, 'i32');
  for (const k of ['sigma', 'sigmaNext', 'std', 'logp'] as const) tensorArg(op, k, t[k]);
  const { eps: _eps, ...rest } = t;
  sameDevice(op, t.eps ? { ...rest, eps: t.eps } : rest);
  const S = offsetsArg(op, t.offsets, t.x.shape[0]);
  for (const k of ['sigma', 'sigmaNext', 'std', 'logp'] as const) numelArg(op, k, t[k], S, "the sample count (offsets' length - 1)");
  let noiseLevel = 0;
  let sigmaMax = 0;
  if (o.mode === 'sde') {
    noiseLevel = numberArg(op, 'noiseLevel', o.noiseLevel, { min: 0, exclusiveMin: true });
    sigmaMax = openUnitArg(op, 'sigmaMax', o.sigmaMax);
  } else if (o.mode === 'cps') {
    noiseLevel = numberArg(op, 'noiseLevel', o.noiseLevel, { min: 0, max: 1 });
  }
  return {
    tensors: [t.x, t.v, t.eps ?? t.x, t.xNext, t.mean, t.offsets, t.sigma, t.sigmaNext, t.std, t.logp],
    ints: [FLOW_MODE[o.mode], logpOnly ? 1 : 0],
    floats: [noiseLevel, sigmaMax],
  };
});

/**
 * Standard normal noise for a packed batch (kernels/sampler/flow.h): element j of sample s is Philox
 * normal j of (seed, keys[s], step), so a sample's noise does not depend on the batch it is drawn in,
 * and CPU and CUDA draw the same numbers.
 */
export const flowNoise = defineOp('flow_noise', (out: Tensor, offsets: Tensor<'i32'>, keys: Tensor<'i32'>, seed: number, step: number) => {
  const op = 'flow_noise';
  tensorArg(op, 'out', out);
  rankArg(op, 'out', out, 2);
  tensorArg(op, 'offsets', offsets, 'i32');
  tensorArg(op, 'keys', keys, 'i32');
  sameDevice(op, { out, offsets, keys });
  const S = offsetsArg(op, offsets, out.shape[0]);
  numelArg(op, 'keys', keys, S, "the sample count (offsets' length - 1)");
  numberArg(op, 'seed', seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  numberArg(op, 'step', step, { integer: true, min: 0, max: 2 ** 32 - 1 });
  return { tensors: [out, offsets, keys], ints: [seed, step] };
});
