// A micro MoT config and a packed batch with both experts and every segment mode: an edit sample
// [clean latents (full, gen)] [ViT (full, und)] [text (causal)] [noisy latents (noise, gen)] and an
// understanding sample [ViT (full)] [question+answer (causal, CE)], packed together.
import type { HostBatch } from '../../src/model/batch.js';
import { buildBatch } from '../../src/model/synthetic-batch.js';
import { type ModelConfig, parseModelConfig } from '../../src/model/config.js';
import type { MotModel } from '../../src/model/model.js';
import { mulberry32 } from '../../src/model/synthetic-batch.js';

export function microConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return parseModelConfig({
    vocab: 23,
    hidden: 16,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    mlp: 24,
    ropeTheta: 10000,
    rmsEps: 1e-6,
    latentChannels: 6,
    latentPatch: 1,
    vitPatchDim: 5,
    vitPatch: 1,
    maxLatentSide: 4,
    timestepDim: 8,
    tieEmbeddings: false,
    imageSize: 4,
    ...overrides,
  });
}

export type { SegSpec as Seg } from '../../src/model/synthetic-batch.js';
export { buildBatch } from '../../src/model/synthetic-batch.js';

/** Two samples: an edit (all four segment kinds) and an understanding sample. */
export function editAndUnderstanding(cfg: ModelConfig, seed = 1): HostBatch {
  return buildBatch(
    cfg,
    [
      { mode: 1, kind: 2, expert: 1, len: 4, sample: 0 },
      { mode: 1, kind: 1, expert: 0, len: 4, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 3, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 4, sample: 0, ce: true },
      { mode: 2, kind: 3, expert: 1, len: 4, sample: 0, mse: true },
      { mode: 1, kind: 1, expert: 0, len: 3, sample: 1 },
      { mode: 0, kind: 0, expert: 0, len: 5, sample: 1, ce: true },
    ],
    seed,
  );
}

/**
 * Uploads random parameters (uniform in +-scale; unit-init norms at 1 +- normJitter) so every path
 * carries signal: llm2vae is zero-initialised and norms are ones by default, which would hide
 * gradients. Returns the float64 copy for the reference model.
 */
export function randomizeParams(model: MotModel, seed: number, opts: { scale?: number; normJitter?: number } = {}): Map<string, Float64Array> {
  const { scale = 0.3, normJitter = 0.2 } = opts;
  const r = mulberry32(seed);
  const map = new Map<string, Float64Array>();
  model.layout.forEach((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let j = 0; j < n; j++) v[j] = s.init === 'ones' ? (normJitter ? 1 + (r() * 2 - 1) * normJitter : 1) : (r() * 2 - 1) * scale;
    model.params[i].upload(v);
    map.set(s.name, Float64Array.from(v));
  });
  return map;
}

/** Packed batches side by side as one: tokens, tensors and targets concatenated, segment rows offset and samples renumbered. */
export function concatBatches(batches: HostBatch[]): HostBatch {
  const cat = <T extends Int32Array | Float32Array>(make: new (n: number) => T, pick: (b: HostBatch) => T): T => {
    const parts = batches.map(pick);
    const out = new make(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const seg: number[] = [];
  let tok = 0;
  let sample = 0;
  for (const b of batches) {
    let top = -1;
    for (let r = 0; r < b.seg.length; r += 4) {
      seg.push(b.seg[r] + tok, b.seg[r + 1] + tok, b.seg[r + 2], b.seg[r + 3] + sample);
      top = Math.max(top, b.seg[r + 3]);
    }
    tok += b.ids.length;
    sample += top + 1;
  }
  return {
    ids: cat(Int32Array, (b) => b.ids),
    kind: cat(Int32Array, (b) => b.kind),
    expert: cat(Int32Array, (b) => b.expert),
    pos: cat(Int32Array, (b) => b.pos),
    seg: Int32Array.from(seg),
    vitPatches: cat(Float32Array, (b) => b.vitPatches),
    vitPos: cat(Int32Array, (b) => b.vitPos),
    latents: cat(Float32Array, (b) => b.latents),
    latentPos: cat(Int32Array, (b) => b.latentPos),
    latentT: cat(Float32Array, (b) => b.latentT),
    ceTargets: cat(Int32Array, (b) => b.ceTargets!),
    mseTarget: cat(Float32Array, (b) => b.mseTarget!),
    mseMask: cat(Float32Array, (b) => b.mseMask!),
  };
}
