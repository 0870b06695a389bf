// Judge items from a manifest (src/world/manifest.ts): each line's source image, instruction, CoT and
// edited image (paths relative to the manifest), and for world lines the exact scenes. A line whose
// images are missing or unreadable is not an item: it comes back as a failed verdict with the reason.
import { isAbsolute, join } from 'node:path';

import type { ManifestLine } from '../world/manifest.js';
import { decodeImage, type RgbImage } from '../world/image.js';
import { lineKey } from '../cot/annotate.js';
import { type JudgeItem, type Verdict, failed } from './types.js';

export interface LoadedItems {
  items: JudgeItem[];
  /** lines that could not become items, as failed verdicts */
  unusable: Verdict[];
  /** manifest order: each line's id */
  order: string[];
}

async function readImage(root: string, path: string): Promise<RgbImage> {
  return decodeImage(isAbsolute(path) ? path : join(root, path));
}

export async function itemsFromLines(lines: readonly ManifestLine[], root: string, opts: { edited?: (line: ManifestLine, id: string) => string | undefined } = {}): Promise<LoadedItems> {
  const out: LoadedItems = { items: [], unusable: [], order: [] };
  for (const [i, line] of lines.entries()) {
    const id = lineKey(line, i);
    out.order.push(id);
    const edited = opts.edited ? opts.edited(line, id) : line.edited;
    if (!edited) {
      out.unusable.push(failed(id, 'missing-input', `line ${i + 1} ('${id}') has no edited image (field "edited")`));
      continue;
    }
    try {
      const [source, editedImg] = await Promise.all([readImage(root, line.source), readImage(root, edited)]);
      out.items.push({
        id,
        source,
        edited: editedImg,
        instruction: line.instruction,
        ...(line.cot !== undefined && { cot: line.cot }),
        category: line.category,
        ...(line.world && { sourceScene: line.world.sourceScene, targetScene: line.world.targetScene }),
      });
    } catch (e) {
      out.unusable.push(failed(id, 'missing-input', `line ${i + 1} ('${id}'): cannot read an image: ${(e as Error).message}`));
    }
  }
  return out;
}
