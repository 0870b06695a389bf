// Editors that make labelled samples from world lines (`metacot judge labels --from-world`): an
// edited image and the CoT it was made with, to be labelled by the exact gt score.
//   model    think-then-edit with a trained checkpoint: the CoT and the image the model produces
//            (what the RL stage's judge will see)
//   degrade  no model: the target picture spoiled by a seeded amount — kept as it is, replaced by the
//            source, blended towards the source, or covered in pixel noise — with the line's Meta-CoT,
//            so the labels spread over the whole 0-10 scale
import { cotForEdit } from '../cot/build.js';
import { editOfLine } from '../cot/check.js';
import type { SampleContext } from '../data/samples.js';
import type { MotModel } from '../model/model.js';
import { type EditOptions, editImage } from '../sample/edit.js';
import { createImage, type RgbImage } from '../world/image.js';
import type { WorldManifestLine } from '../world/manifest.js';
import { renderScene } from '../world/render.js';
import { Rng, hashSeed } from '../world/rng.js';
import type { Editor } from './run.js';

export type Degradation = 'target' | 'source' | 'blend' | 'noise';

/** The picture for one degradation of amount a in [0, 1] (blend: share of the source; noise: sigma / 255 * 160). */
export function degrade(source: RgbImage, target: RgbImage, kind: Degradation, a: number, rng: Rng): RgbImage {
  if (kind === 'target') return target;
  if (kind === 'source') return source;
  const out = createImage(target.width, target.height);
  const sigma = 160 * a;
  for (let i = 0; i < out.data.length; i++) {
    const v = kind === 'blend' ? (1 - a) * target.data[i] + a * source.data[i] : target.data[i] + sigma * rng.gaussian();
    out.data[i] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return out;
}

/** The degrade editor: the kind and amount come from a hash of (seed, line id). */
export function degradeEditor(lines: ReadonlyMap<string, WorldManifestLine>, seed = 0): Editor {
  return async ({ id, source, targetScene }) => {
    const line = lines.get(id);
    if (!line) throw new Error(`degradeEditor: no world line '${id}'`);
    const rng = new Rng(hashSeed('degrade', seed, id));
    const target = renderScene(targetScene, { width: source.width, height: source.height }).image;
    const kind = rng.pick(['target', 'source', 'blend', 'blend', 'noise', 'noise'] as const);
    const image = degrade(source, target, kind, rng.next(), rng);
    return { image, cot: line.cot ?? cotForEdit(editOfLine(line), 'meta') };
  };
}

/** The model editor: think-then-edit (the CoT generated, then the image sampled), seeded per line. */
export function modelEditor(model: MotModel, ctx: SampleContext, opts: Partial<EditOptions> = {}, seed = 0): Editor {
  return async ({ id, source, instruction }) => {
    const r = await editImage(model, ctx, source, instruction, { ...opts, think: true, seed: hashSeed('label', seed, id) >>> 0 });
    return { image: r.image, cot: r.cot };
  };
}
