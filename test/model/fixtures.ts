// A micro MoT config and a packed batch with both experts and every segment mode: an edit sample
// [clean latents (full, gen)] [ViT (full, und)] [text (causal)] [noisy latents (noise, gen)] and an
// understanding sample [ViT (full)] [question+answer (causal, CE)], packed together.
import type { HostBatch } from '../../src/model/batch.js';
import { type ModelConfig, parseModelConfig } from '../../src/model/config.js';
import { rng } from '../helpers.js';

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

export interface Seg {
  mode: 0 | 1 | 2;
  kind: 0 | 1 | 2 | 3;
  expert: 0 | 1;
  len: number;
  sample: number;
  ce?: boolean;
  mse?: boolean;
}

/** Builds a host batch from segments; positions follow DESIGN.md (text +1 each, an image shares one
 * position, a clean image advances by 1 after, a noisy one does not). */
export function buildBatch(cfg: ModelConfig, segs: Seg[], seed = 1): HostBatch {
  const r = rng(seed);
  const N = segs.reduce((a, s) => a + s.len, 0);
  const ids = new Int32Array(N);
  const kind = new Int32Array(N);
  const expert = new Int32Array(N);
  const pos = new Int32Array(N);
  const ce = new Int32Array(N).fill(-1);
  const seg: number[] = [];
  const vitPatches: number[] = [];
  const vitPos: number[] = [];
  const latents: number[] = [];
  const latentPos: number[] = [];
  const latentT: number[] = [];
  const mseTarget: number[] = [];
  const mseMask: number[] = [];
  let i = 0;
  let p = 0;
  let lastSample = -1;
  const side = cfg.maxLatentSide;
  for (const s of segs) {
    if (s.sample !== lastSample) {
      p = 0;
      lastSample = s.sample;
    }
    seg.push(i, i + s.len, s.mode, s.sample);
    const t = s.kind === 3 ? 0.2 + 0.6 * r() : 0;
    for (let j = 0; j < s.len; j++, i++) {
      kind[i] = s.kind;
      expert[i] = s.expert;
      if (s.kind === 0) {
        ids[i] = Math.floor(r() * cfg.vocab);
        pos[i] = p++;
        if (s.ce) ce[i] = Math.floor(r() * cfg.vocab);
      } else {
        pos[i] = p;
        const cell = j % (side * side);
        if (s.kind === 1) {
          for (let c = 0; c < cfg.vitPatchDim; c++) vitPatches.push(r() * 2 - 1);
          vitPos.push(cell);
        } else {
          for (let c = 0; c < cfg.latentChannels; c++) {
            latents.push(r() * 2 - 1);
            mseTarget.push(r() * 2 - 1);
          }
          latentPos.push(cell);
          latentT.push(t);
          mseMask.push(s.kind === 3 && s.mse !== false ? 1 : 0);
        }
      }
    }
    if (s.kind === 1 || s.kind === 2) p++;
  }
  return {
    ids,
    kind,
    expert,
    pos,
    seg: Int32Array.from(seg),
    vitPatches: Float32Array.from(vitPatches),
    vitPos: Int32Array.from(vitPos),
    latents: Float32Array.from(latents),
    latentPos: Int32Array.from(latentPos),
    latentT: Float32Array.from(latentT),
    ceTargets: ce,
    mseTarget: Float32Array.from(mseTarget),
    mseMask: Float32Array.from(mseMask),
  };
}

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
