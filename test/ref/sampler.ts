// float64 reference for kernels/sampler cfg_combine (BAGEL's cfg_renorm types).
export function cfgCombineRef(
  v: Float64Array,
  vt: Float64Array,
  vi: Float64Array,
  C: number,
  sText: number,
  sImg: number,
  renorm: 'global' | 'channel' | 'text_channel',
  renormMin: number,
): Float64Array {
  const T = v.length / C;
  const norm = (a: Float64Array, t: number) => Math.sqrt(a.subarray(t * C, t * C + C).reduce((s, x) => s + x * x, 0));
  const clamp = (s: number) => Math.min(1, Math.max(renormMin, s));
  const vtp = v.map((x, i) => vt[i] + sText * (x - vt[i]));
  if (renorm === 'text_channel')
    for (let t = 0; t < T; t++) {
      const s = clamp(norm(v, t) / (norm(vtp, t) + 1e-8));
      for (let c = 0; c < C; c++) vtp[t * C + c] *= s;
    }
  const out = sImg > 1 ? vtp.map((x, i) => vi[i] + sImg * (x - vi[i])) : vtp;
  if (renorm === 'channel')
    for (let t = 0; t < T; t++) {
      const s = clamp(norm(v, t) / (norm(out, t) + 1e-8));
      for (let c = 0; c < C; c++) out[t * C + c] *= s;
    }
  if (renorm === 'global') {
    const nv = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const no = Math.sqrt(out.reduce((s, x) => s + x * x, 0));
    const s = clamp(nv / (no + 1e-8));
    for (let i = 0; i < out.length; i++) out[i] *= s;
  }
  return out;
}

export type FlowModeRef = 'ode' | 'sde' | 'cps';

export interface FlowStepRef {
  xNext: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  logp: Float64Array;
}

/**
 * float64 reference of one flow step (DESIGN.md section 4, Flow-GRPO's sde_step_with_logprob): sample s
 * owns elements [offsets[s] C, offsets[s+1] C). Written from the formulas (the mean as Flow-GRPO writes
 * it, not as the kernel's affine coefficients). With xPrev given, it is read instead of drawn.
 */
export function flowStepRef(
  mode: FlowModeRef,
  x: Float64Array,
  v: Float64Array,
  eps: Float64Array | null,
  offsets: ArrayLike<number>,
  C: number,
  sigma: ArrayLike<number>,
  sigmaNext: ArrayLike<number>,
  noiseLevel: number,
  sigmaMax: number,
  xPrev: Float64Array | null = null,
): FlowStepRef {
  const S = offsets.length - 1;
  const xNext = new Float64Array(x.length);
  const mean = new Float64Array(x.length);
  const std = new Float64Array(S);
  const logp = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const sg = sigma[s];
    const sp = sigmaNext[s];
    const dt = sp - sg;
    let sd = 0;
    let stdDev = 0;
    if (mode === 'sde') {
      sd = Math.sqrt(sg / (1 - (sg === 1 ? sigmaMax : sg))) * noiseLevel;
      stdDev = sd * Math.sqrt(-dt);
    } else if (mode === 'cps') {
      sd = sp * Math.sin((noiseLevel * Math.PI) / 2);
      stdDev = sd;
    }
    let acc = 0;
    const lo = offsets[s] * C;
    const hi = offsets[s + 1] * C;
    for (let j = lo; j < hi; j++) {
      let m: number;
      if (mode === 'ode') m = x[j] + v[j] * dt;
      else if (mode === 'sde') m = x[j] * (1 + ((sd * sd) / (2 * sg)) * dt) + v[j] * (1 + (sd * sd * (1 - sg)) / (2 * sg)) * dt;
      else {
        const x0 = x[j] - sg * v[j];
        const x1 = x[j] + (1 - sg) * v[j];
        m = x0 * (1 - sp) + x1 * Math.sqrt(sp * sp - sd * sd);
      }
      mean[j] = m;
      const next = xPrev ? xPrev[j] : mode === 'ode' ? m : m + stdDev * eps![j];
      xNext[j] = next;
      const d = next - m;
      if (mode === 'sde') acc += -(d * d) / (2 * stdDev * stdDev) - Math.log(stdDev) - Math.log(Math.sqrt(2 * Math.PI));
      else if (mode === 'cps') acc += -(d * d);
    }
    std[s] = stdDev;
    logp[s] = hi > lo ? acc / (hi - lo) : 0;
  }
  return { xNext, mean, std, logp };
}
