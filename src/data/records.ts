// Examples from disk: edit manifests (world or real data) and the world's understanding.jsonl, with
// their pictures decoded (and resized to the model's canvas when asked). For world lines the CoT can
// be rebuilt in any variant from the line's world record, so one data set serves every ablation.

import { dirname, isAbsolute, join } from 'node:path';
import sharp from 'sharp';
import { editOfLine } from '../cot/check.js';
import { cotForEdit } from '../cot/build.js';
import type { CotVariant } from '../cot/grammar.js';
import { decodeImage, type RgbImage } from '../world/image.js';
import { readManifest, readQa } from '../world/manifest.js';
import type { Split } from '../world/splits.js';
import type { EditExample, UnderstandingExample } from './samples.js';

export interface LoadOptions {
  split?: Split;
  /** Resize every picture to size x size (real data); world data sets already match their canvas. */
  size?: number;
  /** World lines: rebuild the CoT in this variant from the world record (instead of the line's `cot`). */
  variant?: CotVariant;
}

export async function resizeImage(img: RgbImage, size: number): Promise<RgbImage> {
  if (img.width === size && img.height === size) return img;
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { width: size, height: size, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

async function picture(root: string, path: string, size: number | undefined, cache: Map<string, Promise<RgbImage>>): Promise<RgbImage> {
  const file = isAbsolute(path) ? path : join(root, path);
  let p = cache.get(file);
  if (!p) {
    p = decodeImage(file)
      .catch((err: Error) => {
        throw new Error(`cannot read picture ${file}: ${err.message}`);
      })
      .then((img) => (size === undefined ? img : resizeImage(img, size)));
    cache.set(file, p);
  }
  return p;
}

export async function loadEditExamples(manifest: string, opts: LoadOptions = {}): Promise<EditExample[]> {
  const root = dirname(manifest);
  const cache = new Map<string, Promise<RgbImage>>();
  const lines = (await readManifest(manifest)).filter((l) => !opts.split || l.split === opts.split);
  return Promise.all(
    lines.map(async (l, i) => {
      if (!l.target) throw new Error(`${manifest}: line ${l.id ?? i + 1} has no target picture; training needs one`);
      let cot = l.cot;
      if (opts.variant) {
        if (!l.world) throw new Error(`${manifest}: line ${l.id ?? i + 1} has no world record to build a ${opts.variant} CoT from`);
        cot = cotForEdit(editOfLine(l), opts.variant);
      }
      const ex: EditExample = {
        source: await picture(root, l.source, opts.size, cache),
        target: await picture(root, l.target, opts.size, cache),
        instruction: l.instruction,
      };
      if (l.id !== undefined) ex.id = l.id;
      if (cot !== undefined) ex.cot = cot;
      return ex;
    }),
  );
}

export async function loadUnderstandingExamples(qaFile: string, opts: Omit<LoadOptions, 'variant'> = {}): Promise<UnderstandingExample[]> {
  const root = dirname(qaFile);
  const cache = new Map<string, Promise<RgbImage>>();
  const lines = (await readQa(qaFile)).filter((l) => !opts.split || l.split === opts.split);
  return Promise.all(
    lines.map(async (l) => ({ id: l.id, image: await picture(root, l.image, opts.size, cache), question: l.question, answer: l.answer })),
  );
}
