// float64 reference for kernels/swiglu: h = silu(g) * u.
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function swigluRef(g: Float64Array, u: Float64Array): Float64Array {
  return g.map((v, i) => v * sigmoid(v) * u[i]);
}

export function swigluBackwardRef(g: Float64Array, u: Float64Array, dh: Float64Array): { dgate: Float64Array; dup: Float64Array } {
  const dgate = g.map((v, i) => {
    const s = sigmoid(v);
    return dh[i] * u[i] * s * (1 + v * (1 - s));
  });
  const dup = g.map((v, i) => dh[i] * v * sigmoid(v));
  return { dgate, dup };
}
