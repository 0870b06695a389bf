// float64 reference for kernels/timestep: [cos(t f_k), sin(t f_k)], f_k = exp(-ln(maxPeriod) k / half).
export function timestepRef(t: ArrayLike<number>, dim: number, maxPeriod: number): Float64Array {
  const half = dim / 2;
  const out = new Float64Array(t.length * dim);
  for (let n = 0; n < t.length; n++)
    for (let k = 0; k < half; k++) {
      const f = Math.exp((-Math.log(maxPeriod) * k) / half);
      out[n * dim + k] = Math.cos(t[n] * f);
      out[n * dim + half + k] = Math.sin(t[n] * f);
    }
  return out;
}
