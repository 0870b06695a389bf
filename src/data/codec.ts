// Images as tokens. The latent codec turns a picture into latent tokens and back; the tiny presets'
// "VAE" is the identity on pixels in [-1, 1], patchified (patch x patch x 3, channel fastest), and a
// real VAE can implement the same interface. ViT tokens are patchified pixels too (the model's ViT
// patch embedding reads them). Both carry 2-D position indices row * maxSide + col.

import type { ModelConfig } from '../model/config.js';
import { createImage, type RgbImage } from '../world/image.js';

/** A grid of tokens: rows x cols tokens of `dim` floats each, row-major, token after token. */
export interface ImageTokens {
  rows: number;
  cols: number;
  dim: number;
  data: Float32Array;
}

export interface LatentCodec {
  readonly name: string;
  /** Floats per latent token. */
  readonly channels: number;
  /** Pixels per token side. */
  readonly patch: number;
  encode(img: RgbImage): ImageTokens;
  decode(tokens: ImageTokens): RgbImage;
}

/** Pixels of a patch grid, [-1, 1], patch x patch x 3 per token with the colour channel fastest. */
export function patchify(img: RgbImage, patch: number): ImageTokens {
  if (!Number.isInteger(patch) || patch < 1) throw new RangeError(`patchify: patch must be a positive integer, got ${patch}`);
  if (img.width % patch !== 0 || img.height % patch !== 0) {
    throw new RangeError(`patchify: image sides must be multiples of the patch ${patch}, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`patchify: expected ${img.width * img.height * 3} bytes for ${img.width}x${img.height} RGB, got ${img.data.length}`);
  }
  const rows = img.height / patch;
  const cols = img.width / patch;
  const dim = patch * patch * 3;
  const data = new Float32Array(rows * cols * dim);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const base = (r * cols + c) * dim;
      for (let py = 0; py < patch; py++)
        for (let px = 0; px < patch; px++) {
          const src = ((r * patch + py) * img.width + c * patch + px) * 3;
          const dst = base + (py * patch + px) * 3;
          for (let ch = 0; ch < 3; ch++) data[dst + ch] = img.data[src + ch] / 127.5 - 1;
        }
    }
  return { rows, cols, dim, data };
}

/** The inverse of patchify, rounding and clamping to bytes. */
export function unpatchify(t: ImageTokens, patch: number): RgbImage {
  if (t.dim !== patch * patch * 3) throw new RangeError(`unpatchify: expected tokens of ${patch * patch * 3} floats for patch ${patch}, got ${t.dim}`);
  if (t.data.length !== t.rows * t.cols * t.dim) throw new RangeError(`unpatchify: expected ${t.rows * t.cols * t.dim} floats, got ${t.data.length}`);
  const img = createImage(t.cols * patch, t.rows * patch);
  for (let r = 0; r < t.rows; r++)
    for (let c = 0; c < t.cols; c++) {
      const base = (r * t.cols + c) * t.dim;
      for (let py = 0; py < patch; py++)
        for (let px = 0; px < patch; px++) {
          const dst = ((r * patch + py) * img.width + c * patch + px) * 3;
          const src = base + (py * patch + px) * 3;
          for (let ch = 0; ch < 3; ch++) {
            const v = Math.round((t.data[src + ch] + 1) * 127.5);
            img.data[dst + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
          }
        }
    }
  return img;
}

/** The tiny presets' codec: latents are the patchified pixels themselves. */
export class IdentityCodec implements LatentCodec {
  readonly name = 'identity';
  readonly channels: number;
  constructor(readonly patch: number) {
    this.channels = patch * patch * 3;
  }
  encode(img: RgbImage): ImageTokens {
    return patchify(img, this.patch);
  }
  decode(tokens: ImageTokens): RgbImage {
    return unpatchify(tokens, this.patch);
  }
}

/** The codec a config implies (identity when a latent token is exactly a patch of pixels). */
export function codecFor(cfg: Pick<ModelConfig, 'latentPatch' | 'latentChannels'>): LatentCodec {
  if (cfg.latentChannels === cfg.latentPatch * cfg.latentPatch * 3) return new IdentityCodec(cfg.latentPatch);
  throw new RangeError(
    `codecFor: latentChannels ${cfg.latentChannels} with latentPatch ${cfg.latentPatch} needs a real VAE (the identity codec has ${cfg.latentPatch * cfg.latentPatch * 3} channels); pass a LatentCodec explicitly`,
  );
}

/** 2-D position indices of a token grid: row * maxSide + col. */
export function gridPositions(rows: number, cols: number, maxSide: number): Int32Array {
  if (rows > maxSide || cols > maxSide) throw new RangeError(`gridPositions: a ${rows}x${cols} token grid exceeds maxLatentSide ${maxSide}`);
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = r * maxSide + c;
  return out;
}
