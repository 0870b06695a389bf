// Think-then-edit inference (DESIGN.md section 3): prefill the image and instruction into a KV
// cache, generate the CoT token by token with the und expert (greedy, or temperature / top-k), then
// sample the image with the ODE on the shifted schedule, guided by three contexts — full (images,
// instruction, CoT), no text (images only) and no image (instruction and CoT) — combined by the
// two-scale CFG with renormalisation inside a t interval.
import type { HostBatch } from '../model/batch.js';
import { Expert, SegMode, TokenKind } from '../model/batch.js';
import { KvCache, type MotModel } from '../model/model.js';
import type { CfgRenorm } from '../ops/sampler.js';
import { gridPositions, type ImageTokens } from '../data/codec.js';
import { packSamples } from '../data/pack.js';
import { type SampleContext, editContext } from '../data/samples.js';
import type { RgbImage } from '../world/image.js';
import { Rng, hashSeed } from '../world/rng.js';
import { GuidedField, eulerSolve, odeSchedule } from './ode.js';

export { odeSchedule } from './ode.js';

export interface EditOptions {
  /** generate a CoT first (think mode) */
  think: boolean;
  maxCotTokens: number;
  /** 0 = greedy */
  temperature: number;
  /** 0 = no top-k filter */
  topK: number;
  steps: number;
  timestepShift: number;
  cfgText: number;
  cfgImg: number;
  /** CFG applies when t is inside [lo, hi] */
  cfgInterval: [number, number];
  renorm: CfgRenorm;
  renormMin: number;
  seed: number;
  /** a given CoT instead of generating one (teacher forcing for evaluation of the image stage) */
  cot?: string;
  /** the initial noise x_1 (tokens x channels of the source's latent grid); default: Gaussian from the seed */
  noise?: Float32Array;
}

export const DEFAULT_EDIT: EditOptions = {
  think: true,
  maxCotTokens: 192,
  temperature: 0,
  topK: 0,
  steps: 50,
  timestepShift: 3.0,
  cfgText: 4.0,
  cfgImg: 2.0,
  cfgInterval: [0, 1],
  renorm: 'text_channel',
  renormMin: 0,
  seed: 0,
};

export interface EditOutput {
  image: RgbImage;
  /** the sampled latents x_0 (before decoding to pixels) */
  latents: Float32Array;
  /** the CoT text (empty when think is off) */
  cot: string;
  cotTokens: number[];
  /** the CoT ended with im_end within maxCotTokens */
  cotComplete: boolean;
  seconds: { think: number; denoise: number };
}

/** One text token continuing the open causal segment (decoding). */
function textToken(id: number, pos: number): HostBatch {
  return {
    ids: Int32Array.of(id),
    kind: Int32Array.of(TokenKind.text),
    expert: Int32Array.of(Expert.und),
    pos: Int32Array.of(pos),
    seg: Int32Array.of(0, 1, SegMode.causal, 0),
    vitPatches: new Float32Array(0),
    vitPos: new Int32Array(0),
    latents: new Float32Array(0),
    latentPos: new Int32Array(0),
    latentT: new Float32Array(0),
  };
}

/** The noise segment [vision_start x_t vision_end] at RoPE position `pos` (it does not advance). */
function noiseSegment(ctx: SampleContext, x: ImageTokens, t: number, pos: number): HostBatch {
  const n = x.rows * x.cols;
  const N = n + 2;
  const kind = new Int32Array(N).fill(TokenKind.noisyLatent);
  const expert = new Int32Array(N).fill(Expert.gen);
  const ids = new Int32Array(N);
  kind[0] = kind[N - 1] = TokenKind.text;
  expert[0] = expert[N - 1] = Expert.und;
  ids[0] = ctx.tokenizer.special.visionStart;
  ids[N - 1] = ctx.tokenizer.special.visionEnd;
  return {
    ids,
    kind,
    expert,
    pos: new Int32Array(N).fill(pos),
    seg: Int32Array.of(0, N, SegMode.noise, 0),
    vitPatches: new Float32Array(0),
    vitPos: new Int32Array(0),
    latents: x.data,
    latentPos: gridPositions(x.rows, x.cols, ctx.dims.maxLatentSide),
    latentT: new Float32Array(n).fill(t),
  };
}

/** Picks the next token: argmax, or a temperature / top-k sample. */
export function pickToken(logits: Float32Array, temperature: number, topK: number, rng: Rng, allowed?: (id: number) => boolean): number {
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (!allowed || allowed(i)) ids.push(i);
  ids.sort((a, b) => logits[b] - logits[a]);
  if (temperature <= 0) return ids[0];
  const cand = topK > 0 ? ids.slice(0, topK) : ids;
  const mx = logits[cand[0]];
  const w = cand.map((i) => Math.exp((logits[i] - mx) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let k = 0; k < cand.length; k++) {
    u -= w[k];
    if (u <= 0) return cand[k];
  }
  return cand[cand.length - 1];
}

export async function editImage(
  model: MotModel,
  ctx: SampleContext,
  source: RgbImage,
  instruction: string,
  options: Partial<EditOptions> = {},
): Promise<EditOutput> {
  const o: EditOptions = { ...DEFAULT_EDIT, ...options };
  const tok = ctx.tokenizer;
  const rng = new Rng(hashSeed('edit', o.seed));
  const t0 = performance.now();
  using full = new KvCache();
  // images first: the image-only prefix is also the no-text CFG context
  const imagePart = editContext({ source }, ctx);
  await model.infer(full, packSamples([imagePart.build()]), { write: true });
  using noText = full.clone();
  let pos = imagePart.position;
  const instr = tok.encode(instruction);
  const cotTokens: number[] = [];
  let cotComplete = false;
  let cotText = '';
  // instruction segment, continuing positions after the images
  const instrBatch = packSamples([editContext({ instruction }, ctx).build()]);
  instrBatch.pos = instrBatch.pos.map((p) => p + pos);
  await model.infer(full, instrBatch, { write: true });
  pos += instr.length + 2;
  if (o.cot !== undefined || o.think) {
    // the CoT segment: [im_start, generated..., im_end]
    let r = await model.infer(full, textToken(tok.special.imStart, pos++), { write: true, lastLogits: true });
    if (o.cot !== undefined) {
      const given = tok.encode(o.cot);
      for (const id of [...given, tok.special.imEnd]) {
        r = await model.infer(full, textToken(id, pos++), { write: true, extendLast: true, lastLogits: true });
        if (id !== tok.special.imEnd) cotTokens.push(id);
      }
      cotComplete = true;
    } else {
      const never = new Set([tok.special.imStart, tok.special.visionStart, tok.special.visionEnd]);
      for (let k = 0; k < o.maxCotTokens; k++) {
        const id = pickToken(r.lastLogits!, o.temperature, o.topK, rng, (i) => i < tok.size && !never.has(i));
        if (id === tok.special.imEnd) {
          cotComplete = true;
          break;
        }
        cotTokens.push(id);
        r = await model.infer(full, textToken(id, pos++), { write: true, extendLast: true, lastLogits: true });
      }
      // close the segment (im_end) so the image follows a finished CoT, as in training
      await model.infer(full, textToken(tok.special.imEnd, pos++), { write: true, extendLast: true });
    }
    cotText = tok.decode(cotTokens);
  }
  // no-image context: instruction (+ CoT) only, positions from 0
  using noImage = new KvCache();
  const noImgBuilder = editContext({ instruction, cot: cotText || undefined }, ctx);
  await model.infer(noImage, packSamples([noImgBuilder.build()]), { write: true });
  const t1 = performance.now();

  // ODE from pure noise; the target has the source's latent grid
  const grid = ctx.codec.encode(source);
  const C = ctx.dims.latentChannels;
  const n = grid.rows * grid.cols;
  const x = new Float32Array(n * C);
  if (o.noise) {
    if (o.noise.length !== x.length) throw new RangeError(`editImage: option 'noise' expected ${x.length} floats (${n} tokens x ${C} channels), received ${o.noise.length}`);
    x.set(o.noise);
  } else for (let i = 0; i < x.length; i++) x[i] = rng.gaussian();
  // each context's velocity at (x, t): its noise segment at the RoPE position after its prefix
  const velocity = (cache: KvCache, pos: number) => async (xs: Float32Array, t: number) =>
    (await model.infer(cache, noiseSegment(ctx, { rows: grid.rows, cols: grid.cols, dim: C, data: xs }, t, pos), { velocities: true })).velocities!;
  using guided = new GuidedField(
    { full: velocity(full, pos), noText: velocity(noText, imagePart.position), noImage: velocity(noImage, noImgBuilder.position) },
    o,
    n,
    C,
  );
  await eulerSolve(x, odeSchedule(o.steps, o.timestepShift), guided.field);
  const image = ctx.codec.decode({ rows: grid.rows, cols: grid.cols, dim: C, data: x });
  const t2 = performance.now();
  return { image, latents: x, cot: cotText, cotTokens, cotComplete, seconds: { think: (t1 - t0) / 1000, denoise: (t2 - t1) / 1000 } };
}
