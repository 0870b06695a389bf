// The pieces every packed sequence is made of (DESIGN.md section 2), for training and inference
// alike. One SequenceBuilder lays out one sample, segment after segment:
//
//   clean image  [vision_start latents vision_end]   full,   latents on gen, markers on und
//   ViT image    [vision_start patches vision_end]   full,   und
//   text         [im_start words im_end]             causal, und (CE on next tokens when it carries loss)
//   noisy image  [vision_start x_t vision_end]       noise,  latents on gen, markers on und (MSE)
//
// RoPE positions: a text token advances the position by 1; every token of an image (markers
// included) shares one position; a clean image advances it by 1 afterwards, a noisy one does not.
// The trainer packs built samples (pack.ts); the sampler builds its contexts with the same calls.

import { Expert, SegMode, TokenKind } from '../model/batch.js';
import { gridPositions, type ImageTokens } from './codec.js';
import type { SpecialIds } from './tokenizer.js';

export interface LayoutDims {
  latentChannels: number;
  vitPatchDim: number;
  maxLatentSide: number;
}

export type SegmentRole = 'clean' | 'vit' | 'text' | 'noise';

export interface Segment {
  start: number;
  end: number;
  mode: number;
  role: SegmentRole;
  /** Text segments: whether it carries the CE loss. */
  loss?: boolean;
}

/** One sample's sequence in host memory: what pack.ts concatenates into a HostBatch. */
export interface PackedSample {
  length: number;
  ids: Int32Array;
  kind: Int32Array;
  expert: Int32Array;
  pos: Int32Array;
  /** Next-token targets, -1 = no loss. */
  ceTargets: Int32Array;
  segments: Segment[];
  vitPatches: Float32Array;
  vitPos: Int32Array;
  /** Clean and noisy latent tokens in sequence order, their positions and t (0 for clean). */
  latents: Float32Array;
  latentPos: Int32Array;
  latentT: Float32Array;
  /** Velocity targets per latent token (zeros for clean ones) and the mask of the noisy ones. */
  mseTarget: Float32Array;
  mseMask: Float32Array;
}

/** Growable typed storage. */
class Floats {
  private buf = new Float32Array(256);
  length = 0;
  push(src: ArrayLike<number>): void {
    if (this.length + src.length > this.buf.length) {
      const next = new Float32Array(Math.max(this.buf.length * 2, this.length + src.length));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(src, this.length);
    this.length += src.length;
  }
  pushZeros(n: number): void {
    this.push(new Float32Array(n));
  }
  take(): Float32Array {
    return this.buf.slice(0, this.length);
  }
}

export class SequenceBuilder {
  private ids: number[] = [];
  private kind: number[] = [];
  private expert: number[] = [];
  private pos: number[] = [];
  private ce: number[] = [];
  private readonly segments: Segment[] = [];
  private vit = new Floats();
  private vitPos: number[] = [];
  private lat = new Floats();
  private latPos: number[] = [];
  private latT: number[] = [];
  private mse = new Floats();
  private mseMask: number[] = [];
  private p = 0;
  private open: Segment | null = null;

  /**
   * `start`: the RoPE position of the first token, for a suffix laid out after a prefix already in a
   * KV cache (the prefix builder's `position`); 0 for a whole sample.
   */
  constructor(
    readonly special: SpecialIds,
    readonly dims: LayoutDims,
    start = 0,
  ) {
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`SequenceBuilder: argument 'start' expected a non-negative integer, received ${start}`);
    this.p = start;
  }

  /** The RoPE position the next text token gets (and the next image shares). */
  get position(): number {
    return this.p;
  }

  get length(): number {
    return this.ids.length;
  }

  private token(id: number, kind: number, expert: number, pos: number, ce = -1): void {
    this.ids.push(id);
    this.kind.push(kind);
    this.expert.push(expert);
    this.pos.push(pos);
    this.ce.push(ce);
  }

  private segment(mode: number, role: SegmentRole, fill: () => void, loss?: boolean): void {
    if (this.open) throw new Error(`SequenceBuilder: the text segment opened at token ${this.open.start} is still open; close it before adding a ${role} segment`);
    const start = this.ids.length;
    fill();
    const seg: Segment = { start, end: this.ids.length, mode, role };
    if (loss !== undefined) seg.loss = loss;
    this.segments.push(seg);
  }

  private checkTokens(name: string, t: ImageTokens, dim: number): void {
    if (t.dim !== dim) throw new RangeError(`SequenceBuilder.${name}: expected tokens of ${dim} floats, got ${t.dim}`);
    if (t.data.length !== t.rows * t.cols * t.dim) throw new RangeError(`SequenceBuilder.${name}: expected ${t.rows * t.cols * t.dim} floats, got ${t.data.length}`);
  }

  private image(role: 'clean' | 'noise', t: ImageTokens, time: number, target?: Float32Array): void {
    this.checkTokens(role === 'clean' ? 'cleanImage' : 'noisyImage', t, this.dims.latentChannels);
    if (target && target.length !== t.data.length) throw new RangeError(`SequenceBuilder.noisyImage: target must have ${t.data.length} floats, got ${target.length}`);
    const grid = gridPositions(t.rows, t.cols, this.dims.maxLatentSide);
    const kind = role === 'clean' ? TokenKind.cleanLatent : TokenKind.noisyLatent;
    const p = this.p;
    this.segment(role === 'clean' ? SegMode.full : SegMode.noise, role, () => {
      this.token(this.special.visionStart, TokenKind.text, Expert.und, p);
      for (let i = 0; i < grid.length; i++) {
        this.token(0, kind, Expert.gen, p);
        this.latPos.push(grid[i]);
        this.latT.push(time);
        this.mseMask.push(role === 'noise' && target ? 1 : 0);
      }
      this.lat.push(t.data);
      if (role === 'noise' && target) this.mse.push(target);
      else this.mse.pushZeros(t.data.length);
      this.token(this.special.visionEnd, TokenKind.text, Expert.und, p);
    });
    if (role === 'clean') this.p++;
  }

  /** The clean input image's latent tokens (VAE), full attention, gen expert. */
  cleanImage(latents: ImageTokens): this {
    this.image('clean', latents, 0);
    return this;
  }

  /** The input image's ViT tokens, full attention, und expert. */
  vitImage(patches: ImageTokens): this {
    this.checkTokens('vitImage', patches, this.dims.vitPatchDim);
    const grid = gridPositions(patches.rows, patches.cols, this.dims.maxLatentSide);
    const p = this.p;
    this.segment(SegMode.full, 'vit', () => {
      this.token(this.special.visionStart, TokenKind.text, Expert.und, p);
      for (let i = 0; i < grid.length; i++) {
        this.token(0, TokenKind.vit, Expert.und, p);
        this.vitPos.push(grid[i]);
      }
      this.vit.push(patches.data);
      this.token(this.special.visionEnd, TokenKind.text, Expert.und, p);
    });
    this.p++;
    return this;
  }

  /**
   * A text segment [im_start ids im_end], causal. With loss, every token but the last is trained to
   * predict the next one. With `close: false` the segment stays open (no im_end yet): the sampler
   * appends generated tokens with appendText and closes it with closeText.
   */
  text(ids: readonly number[], opts: { loss?: boolean; close?: boolean } = {}): this {
    const loss = opts.loss ?? false;
    this.segment(SegMode.causal, 'text', () => {
      const all = [this.special.imStart, ...ids];
      if (opts.close ?? true) all.push(this.special.imEnd);
      all.forEach((id, j) => this.token(id, TokenKind.text, Expert.und, this.p++, loss && j + 1 < all.length ? all[j + 1] : -1));
    }, loss);
    if (!(opts.close ?? true)) this.open = this.segments[this.segments.length - 1];
    return this;
  }

  /** Appends tokens to the open text segment (no loss). */
  appendText(ids: readonly number[]): this {
    if (!this.open) throw new Error('SequenceBuilder.appendText: no text segment is open (use text(ids, { close: false }))');
    for (const id of ids) this.token(id, TokenKind.text, Expert.und, this.p++);
    this.open.end = this.ids.length;
    return this;
  }

  /**
   * A causal segment of these tokens without im_start or im_end: the continuation of a text segment
   * whose start is already in a KV cache (decoding several samples at once, one token each). Its
   * tokens see the earlier segments of their sample in full and each other causally, which is what
   * the one open segment of training gives them.
   */
  continueText(ids: readonly number[]): this {
    if (ids.length === 0) throw new RangeError('SequenceBuilder.continueText: expected at least one token, received none');
    this.segment(SegMode.causal, 'text', () => {
      for (const id of ids) this.token(id, TokenKind.text, Expert.und, this.p++);
    });
    return this;
  }

  /** Ends the open text segment with im_end. */
  closeText(): this {
    if (!this.open) throw new Error('SequenceBuilder.closeText: no text segment is open');
    this.token(this.special.imEnd, TokenKind.text, Expert.und, this.p++);
    this.open.end = this.ids.length;
    this.open = null;
    return this;
  }

  /** The noisy target's latent tokens x_t at time t, noise attention, gen expert; with the velocity target it carries the MSE loss. */
  noisyImage(xt: ImageTokens, t: number, target?: Float32Array): this {
    if (!(t >= 0 && t <= 1)) throw new RangeError(`SequenceBuilder.noisyImage: t must be in [0, 1], got ${t}`);
    this.image('noise', xt, t, target);
    return this;
  }

  build(): PackedSample {
    if (this.open) throw new Error('SequenceBuilder.build: a text segment is still open');
    return {
      length: this.ids.length,
      ids: Int32Array.from(this.ids),
      kind: Int32Array.from(this.kind),
      expert: Int32Array.from(this.expert),
      pos: Int32Array.from(this.pos),
      ceTargets: Int32Array.from(this.ce),
      segments: this.segments.map((s) => ({ ...s })),
      vitPatches: this.vit.take(),
      vitPos: Int32Array.from(this.vitPos),
      latents: this.lat.take(),
      latentPos: Int32Array.from(this.latPos),
      latentT: Float32Array.from(this.latT),
      mseTarget: this.mse.take(),
      mseMask: Float32Array.from(this.mseMask),
    };
  }
}
