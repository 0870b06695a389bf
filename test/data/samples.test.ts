// Condition dropout (rates and what each drop leaves out), the rectified-flow timestep, the
// inference pieces (an open CoT segment filled by generation lays out like the training sample),
// and examples loaded from a generated world data set into tiny-preset sequences.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityCodec, patchify } from '../../src/data/codec.js';
import { sampleTimestep, shiftTimestep } from '../../src/data/flow.js';
import { packByBudget } from '../../src/data/pack.js';
import { loadEditExamples, loadUnderstandingExamples, resizeImage } from '../../src/data/records.js';
import {
  DEFAULT_DROPOUT, drawDropout, editContext, editTrainingSample, NO_DROPOUT, type SampleContext, sampleContext, understandingSample,
} from '../../src/data/samples.js';
import { WordTokenizer } from '../../src/data/tokenizer.js';
import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { countKinds } from '../../src/model/batch.js';
import { preset } from '../../src/model/config.js';
import { generateDataset } from '../../src/world/dataset.js';
import { createImage } from '../../src/world/image.js';
import { Rng } from '../../src/world/rng.js';

const tok = WordTokenizer.fromCorpus(['paint it red', 'keep going'], []);
const ctx: SampleContext = { tokenizer: tok, codec: new IdentityCodec(2), vitPatch: 2, dims: { latentChannels: 12, vitPatchDim: 12, maxLatentSide: 4 } };
const img = createImage(4, 4);
const example = { source: img, target: img, instruction: 'paint it red', cot: 'keep going' };

const roles = (r: ReturnType<typeof editTrainingSample>) => r.sample.segments.map((g) => (g.role === 'text' ? (g.loss ? 'cot' : 'instruction') : g.role));

describe('condition dropout', () => {
  it('drops text 10%, VAE 30%, ViT 30% of the time, independently', () => {
    const rng = new Rng(42);
    const n = 20000;
    const c = { text: 0, vae: 0, vit: 0, both: 0 };
    for (let i = 0; i < n; i++) {
      const d = drawDropout(rng);
      if (d.text) c.text++;
      if (d.vae) c.vae++;
      if (d.vit) c.vit++;
      if (d.vae && d.vit) c.both++;
    }
    expect(c.text / n).toBeCloseTo(0.1, 1);
    expect(Math.abs(c.text / n - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(c.vae / n - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(c.vit / n - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(c.both / n - 0.09)).toBeLessThan(0.01);
    expect(DEFAULT_DROPOUT).toEqual({ text: 0.1, vae: 0.3, vit: 0.3, cotWithText: true });
    expect(() => drawDropout(rng, { ...DEFAULT_DROPOUT, vit: 1.5 })).toThrow(/vit rate must be in \[0, 1\], got 1.5/);
  });

  it('a dropped condition is left out, and positions close up behind it', () => {
    const rng = () => new Rng(1);
    const all = editTrainingSample(example, ctx, rng(), NO_DROPOUT);
    expect(roles(all)).toEqual(['clean', 'vit', 'instruction', 'cot', 'noise']);
    const noVae = editTrainingSample(example, ctx, rng(), { ...NO_DROPOUT, vae: 1 });
    expect(roles(noVae)).toEqual(['vit', 'instruction', 'cot', 'noise']);
    expect(noVae.sample.pos[0]).toBe(0);
    expect(roles(editTrainingSample(example, ctx, rng(), { ...NO_DROPOUT, vit: 1 }))).toEqual(['clean', 'instruction', 'cot', 'noise']);
    // no text: the instruction and (by default) the CoT go, so the sample is the no-text CFG context
    const noText = editTrainingSample(example, ctx, rng(), { ...NO_DROPOUT, text: 1 });
    expect(roles(noText)).toEqual(['clean', 'vit', 'noise']);
    expect(Array.from(noText.sample.ceTargets).every((t) => t === -1)).toBe(true);
    expect(roles(editTrainingSample(example, ctx, rng(), { ...NO_DROPOUT, text: 1, cotWithText: false }))).toEqual(['clean', 'vit', 'cot', 'noise']);
    // no images: the no-image CFG context (instruction and CoT)
    const noImage = editTrainingSample(example, ctx, rng(), { ...NO_DROPOUT, vae: 1, vit: 1 });
    expect(roles(noImage)).toEqual(['instruction', 'cot', 'noise']);
    expect(noImage.sample.pos[noImage.sample.length - 1]).toBe(9);
    // everything: unconditional
    expect(roles(editTrainingSample(example, ctx, rng(), { text: 1, vae: 1, vit: 1, cotWithText: true }))).toEqual(['noise']);
    // the none variant has no CoT segment
    expect(roles(editTrainingSample({ ...example, cot: '' }, ctx, rng(), NO_DROPOUT))).toEqual(['clean', 'vit', 'instruction', 'noise']);
  });

  it('refuses a dropout rate below 0 or above 1, naming it', () => {
    const rng = new Rng(1);
    expect(() => drawDropout(rng, { ...NO_DROPOUT, text: -0.1 })).toThrow('drawDropout: text rate must be in [0, 1], got -0.1');
    expect(() => drawDropout(rng, { ...NO_DROPOUT, vae: -1 })).toThrow('drawDropout: vae rate must be in [0, 1], got -1');
    expect(() => drawDropout(rng, { ...NO_DROPOUT, vit: Number.NaN })).toThrow('drawDropout: vit rate must be in [0, 1], got NaN');
    expect(drawDropout(rng, { text: 0, vae: 1, vit: 0, cotWithText: true })).toEqual({ text: false, vae: true, vit: false });
  });
});

describe('rectified-flow timesteps', () => {
  it('are logit-normal (median 1/2) and shift towards noise (median s/(1+s))', () => {
    const median = (shift: number) => {
      const rng = new Rng(5);
      const ts = Array.from({ length: 4001 }, () => sampleTimestep(rng, shift)).sort((a, b) => a - b);
      expect(ts[0]).toBeGreaterThan(0);
      expect(ts[4000]).toBeLessThan(1);
      return ts[2000];
    };
    expect(Math.abs(median(1) - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(median(3) - 0.75)).toBeLessThan(0.02);
    expect(shiftTimestep(0.5, 3)).toBeCloseTo(0.75, 12);
    expect(shiftTimestep(1, 3)).toBe(1);
    expect(shiftTimestep(0, 3)).toBe(0);
    expect(() => shiftTimestep(0.5, 0)).toThrow(/shift must be positive, got 0/);
  });

  it("a training sample's t is drawn with the context's timestep shift (default 1)", () => {
    const expected = (seed: number, shift: number) => {
      const rng = new Rng(seed);
      drawDropout(rng, NO_DROPOUT);
      return sampleTimestep(rng, shift);
    };
    for (const seed of [3, 4, 5]) {
      const shifted = editTrainingSample(example, { ...ctx, timestepShift: 3 }, new Rng(seed), NO_DROPOUT);
      expect(shifted.info.t).toBe(expected(seed, 3));
      expect(shifted.info.t).not.toBe(expected(seed, 1));
      expect(shifted.sample.latentT[shifted.sample.latentT.length - 1]).toBe(Math.fround(shifted.info.t));
      expect(editTrainingSample(example, ctx, new Rng(seed), NO_DROPOUT).info.t).toBe(expected(seed, 1));
    }
  });
});

describe('inference pieces', () => {
  it('a CoT generated into an open segment lays out exactly like the training sample', () => {
    const trained = editTrainingSample(example, ctx, new Rng(3), NO_DROPOUT);
    const t = trained.info.t;
    const b = editContext({ source: img, instruction: 'paint it red' }, ctx);
    b.text([], { close: false });
    for (const w of ['keep', 'going']) b.appendText([tok.idOf(w)!]); // one token per decode step
    b.closeText();
    const target = patchify(img, 2);
    const xt = trained.sample.latents.subarray(48);
    b.noisyImage({ ...target, data: Float32Array.from(xt) }, t);
    const inf = b.build();
    for (const k of ['ids', 'kind', 'expert', 'pos', 'latents', 'latentPos', 'latentT', 'vitPatches', 'vitPos'] as const) {
      expect(Array.from(inf[k]), k).toEqual(Array.from(trained.sample[k]));
    }
    expect(inf.segments.map((g) => [g.start, g.end, g.mode])).toEqual(trained.sample.segments.map((g) => [g.start, g.end, g.mode]));
    // inference carries no loss
    expect(Array.from(inf.ceTargets).every((x) => x === -1)).toBe(true);
    expect(Array.from(inf.mseMask).every((x) => x === 0)).toBe(true);
  });

  it('refuses to interleave segments with an open text segment, or build one', () => {
    const b = editContext({ instruction: 'paint it red' }, ctx).text([], { close: false });
    expect(() => b.noisyImage(patchify(img, 2), 0.5)).toThrow(/still open; close it before adding a noise segment/);
    expect(() => b.build()).toThrow(/still open/);
    expect(() => editContext({}, ctx).closeText()).toThrow(/no text segment is open/);
    expect(() => editContext({}, ctx).noisyImage(patchify(img, 2), 1.5)).toThrow(/t must be in \[0, 1\], got 1.5/);
    expect(() => editContext({}, ctx).cleanImage(patchify(img, 1))).toThrow(/expected tokens of 12 floats, got 3/);
  });

  it('editContext re-prefills a CoT without loss unless cotLoss is set, and leaves out a blank one', () => {
    const plain = editContext({ cot: 'keep going' }, ctx).build();
    expect(plain.segments).toEqual([{ start: 0, end: 4, mode: 0, role: 'text', loss: false }]);
    expect(Array.from(plain.ceTargets)).toEqual([-1, -1, -1, -1]);
    const trained = editContext({ cot: 'keep going', cotLoss: true }, ctx).build();
    expect(trained.segments[0].loss).toBe(true);
    expect(Array.from(trained.ceTargets)).toEqual([tok.idOf('keep'), tok.idOf('going'), tok.special.imEnd, -1]);
    for (const cot of ['', '  ', '\n\t ']) {
      const s = editContext({ instruction: 'paint it red', cot, cotLoss: true }, ctx).build();
      expect(s.segments.map((g) => g.role), JSON.stringify(cot)).toEqual(['text']);
      expect(s.length).toBe(5);
      expect(editContext({ cot }, ctx).build().segments).toHaveLength(0);
    }
  });
});

describe('examples from a world data set into tiny-preset sequences', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metacot-samples-'));
    await generateDataset({ out: dir, n: 3, categories: ['text_change', 'camera_pan'], seed: 2, qaPerSample: 2 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads edits (rebuilding the CoT variant) and questions, and packs them under a budget', async () => {
    const wtok = buildWorldTokenizer({ perCategory: 10, categories: ['text_change', 'camera_pan'] });
    const cfg = preset('tiny', { vocab: wtok.size });
    const c = sampleContext(cfg, wtok);
    expect(() => sampleContext(preset('tiny', { vocab: 100 }), wtok)).toThrow(/tokenizer has \d+ ids, the model's vocab only 100/);
    const edits = await loadEditExamples(join(dir, 'manifest.jsonl'), { variant: 'meta' });
    expect(edits).toHaveLength(6);
    expect(edits.map((e) => e.cot?.slice(0, 30))).toEqual([...Array(3).fill('<summary> meta : replace </sum'), ...Array(3).fill('<summary> meta : camera_motion')]);
    const qa = await loadUnderstandingExamples(join(dir, 'understanding.jsonl'));
    expect(qa.length).toBeGreaterThan(6);
    const rng = new Rng(9);
    const samples = [...edits.map((e) => editTrainingSample(e, c, rng, NO_DROPOUT).sample), ...qa.map((q) => understandingSample(q, c))];
    const first = samples[0];
    // 32x32 canvas, 4x4 patches: 64 latent and 64 ViT tokens, each image with its two markers
    expect(first.segments.map((g) => [g.role, g.end - g.start]).filter(([r]) => r !== 'text')).toEqual([['clean', 66], ['vit', 66], ['noise', 66]]);
    expect(Array.from(first.latentPos.subarray(0, 9))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(first.ids).every((id) => id !== wtok.special.unk)).toBe(true);
    const batches = packByBudget(samples, 1024);
    const total = batches.reduce((a, b) => a + b.ids.length, 0);
    expect(total).toBe(samples.reduce((a, s) => a + s.length, 0));
    for (const b of batches) expect(b.ids.length).toBeLessThanOrEqual(1024);
    const kinds = batches.map(countKinds).reduce((a, k) => ({ noisy: a.noisy + k.noisy, vit: a.vit + k.vit }), { noisy: 0, vit: 0 });
    expect(kinds).toEqual({ noisy: 6 * 64, vit: (6 + qa.length) * 64 });
    // without a variant the line's own CoT is used: none here, so no CoT segment
    const plain = await loadEditExamples(join(dir, 'manifest.jsonl'), { split: 'train' });
    expect(plain.every((e) => e.cot === undefined)).toBe(true);
    await expect(loadEditExamples(join(dir, 'nope.jsonl'))).rejects.toThrow(/cannot read .*nope.jsonl/);
  });

  it('resizes real pictures to the canvas', async () => {
    const small = createImage(8, 6);
    small.data.fill(200);
    const r = await resizeImage(small, 32);
    expect([r.width, r.height, r.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    expect(r.data[100]).toBe(200);
  });

  it("sampleContext refuses a codec whose channels are not the model's latent channels", () => {
    const cfg = preset('tiny', { vocab: 512 });
    expect(cfg.latentChannels).toBe(48);
    expect(() => sampleContext(cfg, tok, new IdentityCodec(2))).toThrow("sampleContext: codec identity gives 12 channels, the model expects 48");
    expect(sampleContext(cfg, tok, new IdentityCodec(4)).codec.channels).toBe(48);
  });
});
