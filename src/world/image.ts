// RGB images as plain byte buffers, and PNG in and out through sharp.

import sharp from 'sharp';

/** An 8-bit RGB image, row-major, 3 bytes per pixel, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export const MAX_SIDE = 256;

export function checkSide(name: string, value: number, max = MAX_SIDE): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
  }
}

export function createImage(width: number, height: number): RgbImage {
  checkSide('createImage: width', width, 1 << 14);
  checkSide('createImage: height', height, 1 << 14);
  return { width, height, data: new Uint8Array(width * height * 3) };
}

export function checkImage(name: string, img: RgbImage): void {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(
      `${name}: expected ${img.width}x${img.height}x3 = ${img.width * img.height * 3} bytes, got ${img.data.length}`,
    );
  }
}

/** Encodes as PNG. Deterministic: the same pixels give the same bytes (no timestamps, fixed settings). */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  checkImage('encodePng', img);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Decodes any image sharp reads (PNG, JPEG, WebP, ...) to 8-bit RGB, dropping alpha. */
export async function decodeImage(input: Buffer | string): Promise<RgbImage> {
  const { data, info } = await sharp(input)
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    throw new Error(`decodeImage: expected 3 channels after removing alpha, got ${info.channels}`);
  }
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export function imagesEqual(a: RgbImage, b: RgbImage): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Number of pixels whose colour differs at all. */
export function countDifferentPixels(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`countDifferentPixels: sizes differ, ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let n = 0;
  for (let p = 0, i = 0; p < a.width * a.height; p++, i += 3) {
    if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) n++;
  }
  return n;
}
