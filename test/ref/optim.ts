// float64 reference for kernels/optim: PyTorch AdamW (torch.optim.AdamW, decoupled decay) after
// torch.nn.utils.clip_grad_norm_ over all gradients.
export interface AdamWRefSlot {
  p: Float64Array;
  g: Float64Array;
  m: Float64Array;
  v: Float64Array;
  decay: boolean;
}

export interface AdamWRefHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** Updates p, m, v in place; returns the pre-clip global norm. */
export function adamwRef(slots: AdamWRefSlot[], step: number, h: AdamWRefHyper): number {
  let ss = 0;
  for (const s of slots) for (const x of s.g) ss += x * x;
  const norm = Math.sqrt(ss);
  const clip = h.maxGradNorm > 0 ? Math.min(1, h.maxGradNorm / (norm + 1e-6)) : 1;
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  for (const s of slots)
    for (let i = 0; i < s.p.length; i++) {
      const g = s.g[i] * clip;
      s.m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * g;
      s.v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * g * g;
      if (s.decay) s.p[i] *= 1 - h.lr * h.weightDecay;
      s.p[i] -= ((h.lr / bc1) * s.m[i]) / (Math.sqrt(s.v[i]) / Math.sqrt(bc2) + h.eps);
    }
  return norm;
}
