// float64 reference for kernels/embedding.
export function embeddingRef(ids: ArrayLike<number>, table: Float64Array, D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < D; c++) out[n * D + c] = table[ids[n] * D + c];
  return out;
}

/** dtable0 + scatter-add of dout rows at ids */
export function embeddingBackwardRef(ids: ArrayLike<number>, dout: Float64Array, dtable0: Float64Array, D: number): Float64Array {
  const dt = Float64Array.from(dtable0);
  for (let n = 0; n < ids.length; n++) for (let c = 0; c < D; c++) dt[ids[n] * D + c] += dout[n * D + c];
  return dt;
}
