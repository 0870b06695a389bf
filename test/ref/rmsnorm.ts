// float64 reference for kernels/rmsnorm: rows of D, y = x / sqrt(mean(x^2) + eps) * w.
export function rmsnormRef(x: Float64Array, w: Float64Array, eps: number): { y: Float64Array; rstd: Float64Array } {
  const D = w.length;
  const R = x.length / D;
  const y = new Float64Array(x.length);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i] ** 2;
    const rs = 1 / Math.sqrt(ss / D + eps);
    rstd[r] = rs;
    for (let i = 0; i < D; i++) y[r * D + i] = x[r * D + i] * rs * w[i];
  }
  return { y, rstd };
}

/** Analytic gradients of sum(y * dy). */
export function rmsnormBackwardRef(
  x: Float64Array,
  w: Float64Array,
  dy: Float64Array,
  eps: number,
): { dx: Float64Array; dw: Float64Array } {
  const D = w.length;
  const R = x.length / D;
  const { rstd } = rmsnormRef(x, w, eps);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const rs = rstd[r];
    let dot = 0;
    for (let i = 0; i < D; i++) dot += dy[r * D + i] * w[i] * x[r * D + i] * rs;
    const c = dot / D;
    for (let i = 0; i < D; i++) {
      const xh = x[r * D + i] * rs;
      dx[r * D + i] = rs * (dy[r * D + i] * w[i] - xh * c);
      dw[i] += dy[r * D + i] * xh;
    }
  }
  return { dx, dw };
}
