// Packed batches of random content laid out from segment specs, with DESIGN.md's position rules
// (each text token advances the RoPE position by 1, all tokens of an image share one position, a
// clean or ViT image advances it by 1 after, a noisy one does not). The model tests, the gradient
// check and the benchmarks use it where a real packer (src/data) would bring unneeded data.
import { type HostBatch, SegMode, TokenKind } from './batch.js';
import type { ModelConfig } from './config.js';

export interface SegSpec {
  mode: 0 | 1 | 2;
  kind: 0 | 1 | 2 | 3;
  expert: 0 | 1;
  len: number;
  sample: number;
  ce?: boolean;
  mse?: boolean;
}

/** mulberry32 in [0, 1) */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildBatch(cfg: ModelConfig, segs: SegSpec[], seed = 1): HostBatch {
  const r = mulberry32(seed);
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
    const t = s.kind === TokenKind.noisyLatent ? 0.2 + 0.6 * r() : 0;
    for (let j = 0; j < s.len; j++, i++) {
      kind[i] = s.kind;
      expert[i] = s.expert;
      if (s.kind === TokenKind.text) {
        ids[i] = Math.floor(r() * cfg.vocab);
        pos[i] = p++;
        if (s.ce) ce[i] = Math.floor(r() * cfg.vocab);
      } else {
        pos[i] = p;
        const cell = j % (side * side);
        if (s.kind === TokenKind.vit) {
          for (let c = 0; c < cfg.vitPatchDim; c++) vitPatches.push(r() * 2 - 1);
          vitPos.push(cell);
        } else {
          for (let c = 0; c < cfg.latentChannels; c++) {
            latents.push(r() * 2 - 1);
            mseTarget.push(r() * 2 - 1);
          }
          latentPos.push(cell);
          latentT.push(t);
          mseMask.push(s.kind === TokenKind.noisyLatent && s.mse !== false ? 1 : 0);
        }
      }
    }
    if (s.kind === TokenKind.vit || s.kind === TokenKind.cleanLatent) p++;
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

/** One edit sample (DESIGN.md section 2): [clean input latents] (full, gen) -> [ViT of the input]
 * (full, und) -> [instruction] (causal) -> [CoT] (causal, CE) -> [noisy target latents] (noise, gen, MSE). */
export function editSample(sample: number, n: { latent: number; vit: number; instr: number; cot: number }): SegSpec[] {
  return [
    { mode: SegMode.full, kind: TokenKind.cleanLatent, expert: 1, len: n.latent, sample },
    { mode: SegMode.full, kind: TokenKind.vit, expert: 0, len: n.vit, sample },
    { mode: SegMode.causal, kind: TokenKind.text, expert: 0, len: n.instr, sample },
    { mode: SegMode.causal, kind: TokenKind.text, expert: 0, len: n.cot, sample, ce: true },
    { mode: SegMode.noise, kind: TokenKind.noisyLatent, expert: 1, len: n.latent, sample, mse: true },
  ];
}
