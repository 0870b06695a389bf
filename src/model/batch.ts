// A packed training/inference batch in host memory (what src/data's packer produces), and its upload
// to native tensors. Token kinds and experts follow native/model/mot.h.
import type { NativeBatch } from '../native/binding.js';
import { Tensor } from '../native/tensor.js';

export const TokenKind = { text: 0, vit: 1, cleanLatent: 2, noisyLatent: 3 } as const;
export const Expert = { und: 0, gen: 1 } as const;
export const SegMode = { causal: 0, full: 1, noise: 2 } as const;

export interface HostBatch {
  /** token ids (text tokens; 0 elsewhere) [N] */
  ids: Int32Array;
  kind: Int32Array;
  expert: Int32Array;
  /** RoPE positions [N] */
  pos: Int32Array;
  /** segment rows [start, end, mode, sample] flattened [S*4] */
  seg: Int32Array;
  /** ViT patches [Nv * vitPatchDim] and their 2-D position indices [Nv] */
  vitPatches: Float32Array;
  vitPos: Int32Array;
  /** latent tokens [Nl * C] (x0 for clean, x_t for noisy), positions [Nl], t [Nl] */
  latents: Float32Array;
  latentPos: Int32Array;
  latentT: Float32Array;
  /** next-token targets, -1 = no loss [N] */
  ceTargets?: Int32Array;
  /** velocity targets [Nl * C] (rows of noisy tokens used) and mask [Nl] */
  mseTarget?: Float32Array;
  mseMask?: Float32Array;
}

/** Native tensors of a host batch; dispose() frees them all. */
export class BatchTensors implements Disposable {
  readonly tensors: Record<string, Tensor>;
  constructor(b: HostBatch, vitPatchDim: number, latentChannels: number) {
    const t: Record<string, Tensor> = {};
    const i32 = (a: Int32Array, shape?: number[]) => Tensor.from(a, shape ?? [a.length], { device: 'cpu' });
    const f32 = (a: Float32Array, shape: number[]) => Tensor.from(a, shape, { device: 'cpu' });
    try {
      t.ids = i32(b.ids);
      t.kind = i32(b.kind);
      t.expert = i32(b.expert);
      t.pos = i32(b.pos);
      t.seg = i32(b.seg, [b.seg.length / 4, 4]);
      t.vitPatches = f32(b.vitPatches, [b.vitPatches.length / vitPatchDim, vitPatchDim]);
      t.vitPos = i32(b.vitPos);
      t.latents = f32(b.latents, [b.latents.length / latentChannels, latentChannels]);
      t.latentPos = i32(b.latentPos);
      t.latentT = f32(b.latentT, [b.latentT.length]);
      if (b.ceTargets) t.ceTargets = i32(b.ceTargets);
      if (b.mseTarget) t.mseTarget = f32(b.mseTarget, [b.mseTarget.length / latentChannels, latentChannels]);
      if (b.mseMask) t.mseMask = f32(b.mseMask, [b.mseMask.length]);
    } catch (e) {
      for (const x of Object.values(t)) x.dispose();
      throw e;
    }
    this.tensors = t;
  }
  native(): NativeBatch {
    const h = Object.fromEntries(Object.entries(this.tensors).map(([k, v]) => [k, v.handle]));
    return h as unknown as NativeBatch;
  }
  dispose(): void {
    for (const x of Object.values(this.tensors)) x.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

export function countKinds(b: HostBatch): { text: number; vit: number; latent: number; noisy: number; ce: number } {
  let text = 0;
  let vit = 0;
  let latent = 0;
  let noisy = 0;
  let ce = 0;
  for (let i = 0; i < b.kind.length; i++) {
    const k = b.kind[i];
    if (k === TokenKind.text) text++;
    else if (k === TokenKind.vit) vit++;
    else {
      latent++;
      if (k === TokenKind.noisyLatent) noisy++;
    }
    if (b.ceTargets && b.ceTargets[i] >= 0) ce++;
  }
  return { text, vit, latent, noisy, ce };
}

/**
 * Tokens [start, end) of a packed batch as a batch of their own: kinds, ids, positions, their ViT and
 * latent rows, targets, and the segment rows clipped to the range and shifted to start at 0.
 * (Cached inference feeds a sequence piece by piece this way.)
 */
export function sliceBatch(b: HostBatch, start: number, end: number, vitPatchDim: number, latentChannels: number): HostBatch {
  let v0 = 0;
  let l0 = 0;
  for (let i = 0; i < start; i++) {
    if (b.kind[i] === TokenKind.vit) v0++;
    else if (b.kind[i] === TokenKind.cleanLatent || b.kind[i] === TokenKind.noisyLatent) l0++;
  }
  let v1 = v0;
  let l1 = l0;
  for (let i = start; i < end; i++) {
    if (b.kind[i] === TokenKind.vit) v1++;
    else if (b.kind[i] === TokenKind.cleanLatent || b.kind[i] === TokenKind.noisyLatent) l1++;
  }
  const seg: number[] = [];
  for (let s = 0; s < b.seg.length / 4; s++) {
    const s0 = Math.max(b.seg[s * 4], start);
    const s1 = Math.min(b.seg[s * 4 + 1], end);
    if (s1 > s0) seg.push(s0 - start, s1 - start, b.seg[s * 4 + 2], b.seg[s * 4 + 3]);
  }
  const out: HostBatch = {
    ids: b.ids.slice(start, end),
    kind: b.kind.slice(start, end),
    expert: b.expert.slice(start, end),
    pos: b.pos.slice(start, end),
    seg: Int32Array.from(seg),
    vitPatches: b.vitPatches.slice(v0 * vitPatchDim, v1 * vitPatchDim),
    vitPos: b.vitPos.slice(v0, v1),
    latents: b.latents.slice(l0 * latentChannels, l1 * latentChannels),
    latentPos: b.latentPos.slice(l0, l1),
    latentT: b.latentT.slice(l0, l1),
  };
  if (b.ceTargets) out.ceTargets = b.ceTargets.slice(start, end);
  if (b.mseTarget) out.mseTarget = b.mseTarget.slice(l0 * latentChannels, l1 * latentChannels);
  if (b.mseMask) out.mseMask = b.mseMask.slice(l0, l1);
  return out;
}
