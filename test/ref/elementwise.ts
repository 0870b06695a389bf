// float64 references for kernels/elementwise.
export function siluRef(x: Float64Array): Float64Array {
  return x.map((v) => v / (1 + Math.exp(-v)));
}
export function siluGradRef(x: Float64Array, dy: Float64Array): Float64Array {
  return x.map((v, i) => {
    const s = 1 / (1 + Math.exp(-v));
    return dy[i] * s * (1 + v * (1 - s));
  });
}
export function biasAddRef(x: Float64Array, b: Float64Array): Float64Array {
  return x.map((v, i) => v + b[i % b.length]);
}
export function biasGradRef(dy: Float64Array, D: number): Float64Array {
  const db = new Float64Array(D);
  for (let i = 0; i < dy.length; i++) db[i % D] += dy[i];
  return db;
}
