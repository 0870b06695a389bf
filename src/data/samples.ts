// Training and inference samples from examples: an edit (source picture, instruction, CoT, target
// picture) or an understanding question (picture, question, answer), laid out with the
// SequenceBuilder. Condition dropout for classifier-free guidance leaves segments out: the
// instruction text with p 0.1, the clean VAE image with p 0.3, the ViT image with p 0.3.

import type { ModelConfig } from '../model/config.js';
import type { RgbImage } from '../world/image.js';
import type { Rng } from '../world/rng.js';
import { codecFor, type ImageTokens, type LatentCodec, patchify } from './codec.js';
import { noiseLatents, sampleTimestep } from './flow.js';
import { type LayoutDims, type PackedSample, SequenceBuilder } from './sequence.js';
import type { TextTokenizer } from './tokenizer.js';

export interface EditExample {
  id?: string;
  source: RgbImage;
  target: RgbImage;
  instruction: string;
  /** The CoT text; empty or absent for the `none` variant (no CoT segment). */
  cot?: string;
}

export interface UnderstandingExample {
  id?: string;
  image: RgbImage;
  question: string;
  answer: string;
}

export interface DropoutRates {
  /** Drop the instruction text (default 0.1). */
  text: number;
  /** Drop the clean VAE image (default 0.3). */
  vae: number;
  /** Drop the ViT image (default 0.3). */
  vit: number;
  /**
   * Drop the CoT together with the instruction (default true). At inference the no-text CFG context
   * holds the images only (the CoT is generated after the instruction is given), so a text-dropped
   * training sample without its CoT is what teaches that context. False keeps the CoT and its loss.
   */
  cotWithText: boolean;
}

export const DEFAULT_DROPOUT: Readonly<DropoutRates> = { text: 0.1, vae: 0.3, vit: 0.3, cotWithText: true };
export const NO_DROPOUT: Readonly<DropoutRates> = { text: 0, vae: 0, vit: 0, cotWithText: true };

export interface Dropped {
  text: boolean;
  vae: boolean;
  vit: boolean;
}

/** Draws which conditions to drop (three independent draws, in a fixed order). */
export function drawDropout(rng: Rng, rates: DropoutRates = DEFAULT_DROPOUT): Dropped {
  for (const [k, p] of Object.entries({ text: rates.text, vae: rates.vae, vit: rates.vit })) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`drawDropout: ${k} rate must be in [0, 1], got ${p}`);
  }
  const text = rng.chance(rates.text);
  const vae = rng.chance(rates.vae);
  const vit = rng.chance(rates.vit);
  return { text, vae, vit };
}

/** What laying out samples needs: the tokenizer, the latent codec, the ViT patch and the model's dimensions. */
export interface SampleContext {
  tokenizer: TextTokenizer;
  codec: LatentCodec;
  vitPatch: number;
  dims: LayoutDims;
  /** Training timestep shift (default 1). */
  timestepShift?: number;
}

export function sampleContext(cfg: ModelConfig, tokenizer: TextTokenizer, codec: LatentCodec = codecFor(cfg), timestepShift = 1): SampleContext {
  if (tokenizer.size > cfg.vocab) throw new RangeError(`sampleContext: the tokenizer has ${tokenizer.size} ids, the model's vocab only ${cfg.vocab}`);
  if (codec.channels !== cfg.latentChannels) throw new RangeError(`sampleContext: codec ${codec.name} gives ${codec.channels} channels, the model expects ${cfg.latentChannels}`);
  return {
    tokenizer,
    codec,
    vitPatch: cfg.vitPatch,
    dims: { latentChannels: cfg.latentChannels, vitPatchDim: cfg.vitPatchDim, maxLatentSide: cfg.maxLatentSide },
    timestepShift,
  };
}

export function vitTokens(img: RgbImage, ctx: SampleContext): ImageTokens {
  return patchify(img, ctx.vitPatch);
}

/** The conditions of an edit, for an inference context or a training sample. */
export interface EditConditions {
  /** The source picture; its clean latents and ViT tokens are the image conditions. */
  source?: RgbImage;
  useVae?: boolean;
  useVit?: boolean;
  instruction?: string;
  /** A generated or given CoT, re-prefilled as a text segment. */
  cot?: string;
  /** Train the CoT segment (CE loss). */
  cotLoss?: boolean;
}

/**
 * Lays out the conditioning part of an edit: [clean image] [ViT image] [instruction] [CoT], each
 * present when given. The sampler calls this for its three CFG contexts (full; no text: images
 * only; no image: instruction and CoT) and then adds the noise segment with noisyImage.
 */
export function editContext(c: EditConditions, ctx: SampleContext): SequenceBuilder {
  const b = new SequenceBuilder(ctx.tokenizer.special, ctx.dims);
  if (c.source && (c.useVae ?? true)) b.cleanImage(ctx.codec.encode(c.source));
  if (c.source && (c.useVit ?? true)) b.vitImage(vitTokens(c.source, ctx));
  if (c.instruction !== undefined) b.text(ctx.tokenizer.encode(c.instruction));
  if (c.cot !== undefined && c.cot.trim() !== '') b.text(ctx.tokenizer.encode(c.cot), { loss: c.cotLoss ?? false });
  return b;
}

export interface EditSampleInfo {
  dropped: Dropped;
  t: number;
}

/**
 * A training sample of an edit: conditions (with dropout), the CoT with CE loss, and the noisy
 * target at a logit-normal t with its velocity target (MSE loss).
 */
export function editTrainingSample(
  ex: EditExample,
  ctx: SampleContext,
  rng: Rng,
  rates: DropoutRates = DEFAULT_DROPOUT,
): { sample: PackedSample; info: EditSampleInfo } {
  const dropped = drawDropout(rng, rates);
  const hasCot = ex.cot !== undefined && ex.cot.trim() !== '';
  const keepCot = hasCot && !(dropped.text && rates.cotWithText);
  const b = editContext(
    {
      source: ex.source,
      useVae: !dropped.vae,
      useVit: !dropped.vit,
      instruction: dropped.text ? undefined : ex.instruction,
      cot: keepCot ? ex.cot : undefined,
      cotLoss: true,
    },
    ctx,
  );
  const x0 = ctx.codec.encode(ex.target);
  const t = sampleTimestep(rng, ctx.timestepShift ?? 1);
  const { xt, v } = noiseLatents(x0.data, t, rng);
  b.noisyImage({ ...x0, data: xt }, t, v);
  return { sample: b.build(), info: { dropped, t } };
}

/** An understanding sample: [ViT image] [question] [answer with CE loss]. */
export function understandingSample(ex: UnderstandingExample, ctx: SampleContext): PackedSample {
  const b = new SequenceBuilder(ctx.tokenizer.special, ctx.dims);
  b.vitImage(vitTokens(ex.image, ctx));
  b.text(ctx.tokenizer.encode(ex.question));
  b.text(ctx.tokenizer.encode(ex.answer), { loss: true });
  return b.build();
}
