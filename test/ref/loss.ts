// float64 references for kernels/loss.

/** Per-row softmax cross-entropy (max-subtracted); target -1 = ignored (loss 0). */
export function crossEntropyRef(logits: Float64Array, targets: ArrayLike<number>, V: number): Float64Array {
  const M = targets.length;
  const out = new Float64Array(M);
  for (let r = 0; r < M; r++) {
    const t = targets[r];
    if (t < 0) continue;
    let mx = -Infinity;
    for (let i = 0; i < V; i++) mx = Math.max(mx, logits[r * V + i]);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(logits[r * V + i] - mx);
    out[r] = Math.log(s) + mx - logits[r * V + t];
  }
  return out;
}

/** (softmax - onehot) * gradScale on used rows, 0 on ignored rows. */
export function crossEntropyGradRef(logits: Float64Array, targets: ArrayLike<number>, V: number, gradScale: number): Float64Array {
  const M = targets.length;
  const d = new Float64Array(M * V);
  for (let r = 0; r < M; r++) {
    const t = targets[r];
    if (t < 0) continue;
    let mx = -Infinity;
    for (let i = 0; i < V; i++) mx = Math.max(mx, logits[r * V + i]);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(logits[r * V + i] - mx);
    for (let i = 0; i < V; i++) d[r * V + i] = (Math.exp(logits[r * V + i] - mx) / s - (i === t ? 1 : 0)) * gradScale;
  }
  return d;
}

/** mean over tokens with mask > 0 of mean over the C channels of (pred - target)^2; 0 when none. */
export function mseRef(pred: Float64Array, target: Float64Array, mask: ArrayLike<number>, C: number): number {
  let total = 0;
  let K = 0;
  for (let n = 0; n < mask.length; n++) {
    if (!(mask[n] > 0)) continue;
    K++;
    let s = 0;
    for (let c = 0; c < C; c++) s += (pred[n * C + c] - target[n * C + c]) ** 2;
    total += s / C;
  }
  return K === 0 ? 0 : total / K;
}

export function mseGradRef(pred: Float64Array, target: Float64Array, mask: ArrayLike<number>, C: number, gradScale: number): Float64Array {
  let K = 0;
  for (let n = 0; n < mask.length; n++) if (mask[n] > 0) K++;
  const d = new Float64Array(pred.length);
  if (K === 0) return d;
  for (let n = 0; n < mask.length; n++) {
    if (!(mask[n] > 0)) continue;
    for (let c = 0; c < C; c++) d[n * C + c] = (gradScale * 2 * (pred[n * C + c] - target[n * C + c])) / (C * K);
  }
  return d;
}
