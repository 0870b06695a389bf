// Model FLOPs of a training step (forward + backward = 3x forward), for throughput and MFU.
// Per token: 2 x (active matmul parameters) for its expert's projections and MLP, plus the heads it
// uses; attention 4 x hd x H per visible (query, key) pair forward.
import type { HostBatch } from '../model/batch.js';
import type { ModelConfig } from '../model/config.js';

export interface StepShape {
  tokens: number;
  textTokens: number;
  vitTokens: number;
  latentTokens: number;
  ceRows: number;
  noisyRows: number;
  /** visible (query, key) pairs summed over the batch's attention (one head) */
  attnPairs: number;
}

export function forwardFlops(c: ModelConfig, s: StepShape): number {
  const D = c.hidden;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const perTokenLayer = 2 * (D * qd + 2 * D * kvd + qd * D + 3 * D * c.mlp);
  let f = s.tokens * c.layers * perTokenLayer;
  f += c.layers * 4 * c.headDim * c.heads * s.attnPairs;
  f += 2 * s.ceRows * D * c.vocab; // LM head
  f += 2 * s.noisyRows * D * c.latentChannels; // llm2vae
  f += 2 * s.vitTokens * (c.vitPatchDim * D + 2 * D * D); // connector
  f += 2 * s.latentTokens * (c.latentChannels * D + c.timestepDim * D + D * D); // vae2llm + time MLP
  return f;
}

export function trainStepFlops(c: ModelConfig, s: StepShape): number {
  return 3 * forwardFlops(c, s);
}

/** visible pairs of a segment table (same rules as the attention kernel) */
export function attentionPairs(seg: ArrayLike<number>): number {
  const S = seg.length / 4;
  let pairs = 0;
  for (let s = 0; s < S; s++) {
    const len = seg[s * 4 + 1] - seg[s * 4];
    let earlier = 0;
    for (let t = 0; t < s; t++) if (seg[t * 4 + 3] === seg[s * 4 + 3] && seg[t * 4 + 2] !== 2) earlier += seg[t * 4 + 1] - seg[t * 4];
    const own = seg[s * 4 + 2] === 0 ? (len * (len + 1)) / 2 : len * len;
    pairs += len * earlier + own;
  }
  return pairs;
}

/** The step shape of a packed batch: token kinds, CE and noisy rows, visible attention pairs. */
export function stepShapeOf(b: HostBatch): StepShape {
  let text = 0;
  let vit = 0;
  let latent = 0;
  let noisy = 0;
  for (const k of b.kind) {
    if (k === 0) text++;
    else if (k === 1) vit++;
    else {
      latent++;
      if (k === 3) noisy++;
    }
  }
  let ce = 0;
  if (b.ceTargets) for (const t of b.ceTargets) if (t >= 0) ce++;
  return { tokens: b.ids.length, textTokens: text, vitTokens: vit, latentTokens: latent, ceRows: ce, noisyRows: noisy, attnPairs: attentionPairs(b.seg) };
}
