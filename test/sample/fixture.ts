// The micro model, tokenizer and sampling reference shared by the sampler tests: a reference built
// from the definitions with the training path (full forward passes over SequenceBuilder layouts, no KV
// cache), guided by the float64 CFG reference, stepped by float64 Euler.
import { packSamples } from '../../src/data/pack.js';
import { type SampleContext, editContext, sampleContext } from '../../src/data/samples.js';
import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { parseModelConfig } from '../../src/model/config.js';
import type { MotModel } from '../../src/model/model.js';
import { type EditOptions, odeSchedule } from '../../src/sample/edit.js';
import { createImage, type RgbImage } from '../../src/world/image.js';
import { rng } from '../helpers.js';
import { cfgCombineRef } from '../ref/sampler.js';

export const tok = buildWorldTokenizer();
export const cfg = parseModelConfig({
  vocab: Math.ceil(tok.size / 64) * 64,
  hidden: 32,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  headDim: 16,
  mlp: 48,
  ropeTheta: 10000,
  latentChannels: 12,
  latentPatch: 2,
  vitPatchDim: 12,
  vitPatch: 2,
  maxLatentSide: 4,
  imageSize: 6,
  timestepDim: 16,
  tieEmbeddings: true,
});
export const ctx: SampleContext = sampleContext(cfg, tok);

export function picture(seed: number, side = 6): RgbImage {
  const img = createImage(side, side);
  const r = rng(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.floor(r() * 256);
  return img;
}

/** The velocity of a context with the training layout: conditions, then [vision_start x_t vision_end]. */
export async function velocity(model: MotModel, conds: Parameters<typeof editContext>[0], x: Float32Array, t: number): Promise<Float64Array> {
  const b = editContext(conds, ctx);
  const side = Math.sqrt(x.length / cfg.latentChannels);
  b.noisyImage({ rows: side, cols: side, dim: cfg.latentChannels, data: Float32Array.from(x) }, t);
  const r = await model.forward(packSamples([b.build()]), { velocities: true });
  return Float64Array.from(r.velocities!);
}

export async function reference(model: MotModel, source: RgbImage, instruction: string, cot: string, noise: Float32Array, o: EditOptions): Promise<Float64Array> {
  const x = Float64Array.from(noise);
  const ts = odeSchedule(o.steps, o.timestepShift);
  for (let i = 0; i + 1 < ts.length; i++) {
    const t = ts[i];
    const xs = Float32Array.from(x);
    const v = await velocity(model, { source, instruction, cot }, xs, t);
    let g = v;
    if (t >= o.cfgInterval[0] && t <= o.cfgInterval[1]) {
      const vt = await velocity(model, { source }, xs, t);
      const vi = await velocity(model, { instruction, cot }, xs, t);
      g = cfgCombineRef(v, vt, vi, cfg.latentChannels, o.cfgText, o.cfgImg, o.renorm, o.renormMin);
    }
    for (let j = 0; j < x.length; j++) x[j] += (ts[i + 1] - t) * g[j];
  }
  return x;
}

