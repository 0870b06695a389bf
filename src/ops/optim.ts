// Fused multi-tensor AdamW (kernels/optim) with global grad-norm clipping, PyTorch semantics:
//   norm = ||all grads||_2 (written to gnorm[0], before clipping)
//   clip = maxGradNorm > 0 ? min(1, maxGradNorm / (norm + 1e-6)) : 1
//   m = b1 m + (1-b1) clip*g;  v = b2 v + (1-b2) (clip*g)^2
//   p *= 1 - lr*wd (params with decay only);  p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps)
// Gradients are read, never written. A non-finite norm throws E_NAN (naming the first tensor with a
// non-finite gradient) and leaves every param and moment untouched.
import { argError, describeValue } from '../native/errors.js';
import type { Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { boolArg, numberArg, numelArg, sameDevice, shapeArg, tensorArg } from './validate.js';

export interface AdamWSlot {
  /** parameter (updated in place) */
  p: Tensor;
  /** gradient (read only) */
  g: Tensor;
  /** first moment (updated in place; zero before step 1) */
  m: Tensor;
  /** second moment (updated in place; zero before step 1) */
  v: Tensor;
  /** apply decoupled weight decay to this parameter (usually: matrices yes, norms and biases no) */
  decay: boolean;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** <= 0 disables clipping */
  maxGradNorm?: number;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0 } as const;

/** One optimizer step over every slot; `step` is 1-based; gnorm[1] receives the pre-clip norm. */
export const adamw = defineOp('adamw', (slots: AdamWSlot[], gnorm: Tensor, step: number, opts: AdamWOptions) => {
  const op = 'adamw';
  if (!Array.isArray(slots) || slots.length === 0)
    throw argError(op, 'slots', 'a non-empty array of { p, g, m, v, decay }', describeValue(slots));
  if (typeof opts !== 'object' || opts === null) throw argError(op, 'opts', 'an object with lr', describeValue(opts));
  tensorArg(op, 'gnorm', gnorm);
  numelArg(op, 'gnorm', gnorm, 1);
  const written = new Set<unknown>();
  const p: Tensor[] = [];
  const g: Tensor[] = [];
  const m: Tensor[] = [];
  const v: Tensor[] = [];
  const decay: number[] = [];
  slots.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) throw argError(op, `slots[${i}]`, 'an object { p, g, m, v, decay }', describeValue(s));
    tensorArg(op, `p_${i}`, s.p);
    tensorArg(op, `g_${i}`, s.g);
    tensorArg(op, `m_${i}`, s.m);
    tensorArg(op, `v_${i}`, s.v);
    shapeArg(op, `g_${i}`, s.g, s.p.shape);
    shapeArg(op, `m_${i}`, s.m, s.p.shape);
    shapeArg(op, `v_${i}`, s.v, s.p.shape);
    sameDevice(op, { [`p_${i}`]: s.p, [`g_${i}`]: s.g, [`m_${i}`]: s.m, [`v_${i}`]: s.v, gnorm });
    boolArg(op, `decay_${i}`, s.decay);
    // every written buffer once, and no gradient among them (a shared handle would be updated twice)
    for (const [k, t] of [['p', s.p], ['m', s.m], ['v', s.v]] as const) {
      if (written.has(t.handle) || t.handle === s.g.handle)
        throw argError(op, `${k}_${i}`, 'a buffer no other slot argument uses', 'a tensor already passed', 'E_ARG');
      written.add(t.handle);
    }
    p.push(s.p);
    g.push(s.g);
    m.push(s.m);
    v.push(s.v);
    decay.push(s.decay ? 1 : 0);
  });
  for (const [i, s] of slots.entries())
    if (written.has(s.g.handle)) throw argError(op, `g_${i}`, 'a buffer that no p, m or v uses', 'a tensor also being updated', 'E_ARG');
  if (written.has(gnorm.handle)) throw argError(op, 'gnorm', 'its own buffer', 'a tensor also being updated', 'E_ARG');
  numberArg(op, 'step', step, { integer: true, min: 1 });
  const lr = numberArg(op, 'lr', opts.lr, { min: 0 });
  const beta1 = numberArg(op, 'beta1', opts.beta1 ?? ADAMW_DEFAULTS.beta1, { min: 0 });
  if (beta1 >= 1) throw argError(op, 'beta1', 'a finite number >= 0 and < 1', describeValue(beta1));
  const beta2 = numberArg(op, 'beta2', opts.beta2 ?? ADAMW_DEFAULTS.beta2, { min: 0 });
  if (beta2 >= 1) throw argError(op, 'beta2', 'a finite number >= 0 and < 1', describeValue(beta2));
  const eps = numberArg(op, 'eps', opts.eps ?? ADAMW_DEFAULTS.eps, { min: 0, exclusiveMin: true });
  const wd = numberArg(op, 'weightDecay', opts.weightDecay ?? ADAMW_DEFAULTS.weightDecay, { min: 0 });
  const maxNorm = numberArg(op, 'maxGradNorm', opts.maxGradNorm ?? ADAMW_DEFAULTS.maxGradNorm);
  return {
    tensors: [...p, ...g, ...m, ...v, gnorm],
    ints: [slots.length, step, ...decay],
    floats: [lr, beta1, beta2, eps, wd, maxNorm],
  };
});
