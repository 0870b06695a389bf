// float64 reference for kernels/rope (Qwen2 rotate-half): pairs (i, i + hd/2), inv_freq_i = theta^(-2i/hd).
export function ropeRef(
  x: Float64Array,
  pos: ArrayLike<number>,
  N: number,
  H: number,
  hd: number,
  theta: number,
  inverse = false,
): Float64Array {
  const half = hd / 2;
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < half; i++) {
      const ang = pos[n] * theta ** ((-2 * i) / hd);
      const c = Math.cos(ang);
      const s = inverse ? -Math.sin(ang) : Math.sin(ang);
      for (let h = 0; h < H; h++) {
        const o = (n * H + h) * hd;
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        y[o + i] = x1 * c - x2 * s;
        y[o + i + half] = x2 * c + x1 * s;
      }
    }
  return y;
}
