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
