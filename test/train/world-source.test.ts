// The SFT data mixture on the built-in world: a pure function of (seed, step, micro), packed to the
// token budget, train-split scenes only, the understanding share, the CoT variant and categories.
import { describe, expect, it } from 'vitest';

import { cotForEdit } from '../../src/cot/build.js';
import { NO_DROPOUT, editTrainingSample, sampleContext } from '../../src/data/samples.js';
import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { SegMode, TokenKind } from '../../src/model/batch.js';
import { preset } from '../../src/model/config.js';
import { stepShapeOf } from '../../src/train/flops.js';
import { DEFAULT_MIXTURE, WorldSource, type WorldMixture, shapeOf, trainEdit } from '../../src/train/world-source.js';
import { renderScene } from '../../src/world/render.js';
import { Rng, hashSeed } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import { splitOf } from '../../src/world/splits.js';

const tok = buildWorldTokenizer();
const model = preset('tiny', { vocab: Math.ceil(tok.size / 64) * 64 });
const ctx = sampleContext(model, tok);
const mix = (over: Partial<WorldMixture> = {}): WorldMixture => ({ ...DEFAULT_MIXTURE, categories: ['color_alter', 'subject_add', 'camera_pan'], ...over });

/** sample boundaries of a packed batch: the rows of each sample's segments */
function samplesOf(seg: Int32Array): { start: number; end: number; modes: number[] }[] {
  const out: { start: number; end: number; modes: number[] }[] = [];
  for (let r = 0; r < seg.length; r += 4) {
    const s = seg[r + 3];
    if (!out[s]) out[s] = { start: seg[r], end: seg[r + 1], modes: [] };
    out[s].end = seg[r + 1];
    out[s].modes.push(seg[r + 2]);
  }
  return out;
}

describe('WorldSource', () => {
  it('the micro-batch is a pure function of (seed, step, micro): the same key, the same batch', () => {
    const a = new WorldSource(mix(), ctx, model);
    const b = new WorldSource(mix(), ctx, model);
    const x = a.batchAt(3, 1);
    expect(b.batchAt(3, 1)).toEqual(x);
    expect(a.batchAt(3, 1)).toEqual(x);
    for (const other of [a.batchAt(4, 1), a.batchAt(3, 0), new WorldSource(mix({ seed: 2 }), ctx, model).batchAt(3, 1)]) expect(other.batch.ids).not.toEqual(x.batch.ids);
    expect(x.shape).toEqual(stepShapeOf(x.batch));
    expect(shapeOf(x.batch)).toEqual(x.shape);
  });

  it('packs whole samples until the next would overflow the token budget', () => {
    const src = new WorldSource(mix({ tokenBudget: 600 }), ctx, model);
    for (let step = 0; step < 6; step++) {
      const { batch, samples } = src.batchAt(step, 0);
      const parts = samplesOf(batch.seg);
      expect(parts.length).toBe(samples);
      expect(batch.ids.length).toBeLessThanOrEqual(600);
      // the sample after the last one would not have fitted: rebuild the draw order to see it
      expect(parts[0].start).toBe(0);
      expect(parts.at(-1)!.end).toBe(batch.ids.length);
    }
    // a budget below one sample still gives that one sample
    const one = new WorldSource(mix({ tokenBudget: 64 }), ctx, model).batchAt(0, 0);
    expect(one.samples).toBe(1);
    expect(one.batch.ids.length).toBeGreaterThan(64);
  });

  it('each micro-batch takes the drawn samples in order while they fit, and stops once the budget is reached', () => {
    for (const budget of [500, 700, 1280]) {
      const src = new WorldSource(mix({ tokenBudget: budget }), ctx, model);
      for (const [step, micro] of [
        [0, 0],
        [2, 1],
        [5, 0],
      ]) {
        // the draws of (step, micro): sample k comes from fork k of the batch RNG
        const rng = new Rng(hashSeed('sft-batch', DEFAULT_MIXTURE.seed, step, micro));
        const lengths: number[] = [];
        let used = 0;
        for (let k = 0; ; k++) {
          const len = src.sample(rng.fork(k)).sample.length;
          if (lengths.length > 0 && used + len > budget) break;
          lengths.push(len);
          used += len;
        }
        const { batch, samples } = src.batchAt(step, micro);
        expect(samples, `budget ${budget} (${step}, ${micro})`).toBe(lengths.length);
        expect(samplesOf(batch.seg).map((p) => p.end - p.start)).toEqual(lengths);
      }
    }
  });

  it('mixes understanding samples at the configured share, and edits of the given categories with the variant\'s CoT', () => {
    const src = new WorldSource(mix({ understandingRatio: 0.3 }), ctx, model);
    let und = 0;
    const n = 300;
    for (let k = 0; k < n; k++) {
      const s = src.sample(new Rng(1000 + k));
      if (s.kind === 'understanding') {
        und++;
        // [ViT] [question] [answer with CE]: no latent segments
        expect(s.sample.segments.map((g) => g.role)).toEqual(['vit', 'text', 'text']);
        expect(s.sample.segments[2].loss).toBe(true);
      } else expect(s.sample.segments.at(-1)!.role).toBe('noise');
    }
    // binomial(300, 0.3): sd 7.9
    expect(Math.abs(und - 0.3 * n)).toBeLessThan(4 * Math.sqrt(n * 0.3 * 0.7));
    const none = new WorldSource(mix({ understandingRatio: 0 }), ctx, model);
    for (let k = 0; k < 30; k++) expect(none.sample(new Rng(k)).kind).toBe('edit');
  });

  it('an edit sample is the training layout of a train-split edit with its CoT (or none for the none variant)', () => {
    for (const variant of ['meta', 'none'] as const) {
      const src = new WorldSource(mix({ variant, understandingRatio: 0, dropout: NO_DROPOUT, categories: ['subject_add'] }), ctx, model);
      const rng = new Rng(77);
      const got = src.sample(rng.fork(0));
      // the same draws by hand: category, then the train edit, then the sample from its noise fork
      const r = new Rng(77).fork(0);
      expect(r.pick(['subject_add'])).toBe('subject_add');
      r.chance(0);
      const edit = trainEdit('subject_add', r, DEFAULT_MIXTURE.evalFraction, model.imageSize);
      const source = renderScene(edit.source, { width: model.imageSize }).image;
      const target = renderScene(edit.target, { width: model.imageSize }).image;
      const cot = variant === 'none' ? undefined : cotForEdit(edit, variant);
      const want = editTrainingSample({ source, target, instruction: edit.instruction, cot }, ctx, r.fork('noise'), NO_DROPOUT).sample;
      expect(got.sample).toEqual(want);
      expect(want.segments.some((g) => g.loss)).toBe(variant !== 'none');
    }
  });

  it('draws only train-split scenes: eval seeds are skipped, the first train seed is used', () => {
    const evalFraction = 0.5;
    for (let s = 0; s < 20; s++) {
      const r = new Rng(500 + s);
      const seeds: number[] = [];
      for (;;) {
        const seed = r.int(0, 0x7ffffffe);
        seeds.push(seed);
        if (splitOf(seed, evalFraction) === 'train') break;
      }
      const edit = trainEdit('color_alter', new Rng(500 + s), evalFraction, 32);
      expect(edit).toEqual(generateEdit('color_alter', seeds.at(-1)!, { width: 32 }).edit);
    }
  });

  it('only the listed categories, and argument errors that name the argument', () => {
    const src = new WorldSource(mix({ categories: ['camera_zoom'], understandingRatio: 0, dropout: NO_DROPOUT }), ctx, model);
    for (let k = 0; k < 5; k++) {
      const b = src.batchAt(k, 0).batch;
      // a camera zoom edit: clean image, ViT, instruction, CoT, noise per sample
      expect(samplesOf(b.seg).every((p) => p.modes.join() === [SegMode.full, SegMode.full, SegMode.causal, SegMode.causal, SegMode.noise].join())).toBe(true);
      expect(b.kind.includes(TokenKind.noisyLatent)).toBe(true);
    }
    expect(() => new WorldSource(mix({ categories: [] }), ctx, model)).toThrow("WorldSource: argument 'categories' expected at least one category");
    for (const bad of [1, -0.1, Number.NaN])
      expect(() => new WorldSource(mix({ understandingRatio: bad }), ctx, model)).toThrow(`WorldSource: argument 'understandingRatio' expected a number in [0, 1), received ${bad}`);
    expect(() => new WorldSource(mix({ understandingRatio: 0 }), ctx, model)).not.toThrow();
  });
});

describe('WorldSource at another image size, and an exactly full budget', () => {
  const model64 = preset('tiny', { vocab: Math.ceil(tok.size / 64) * 64, imageSize: 64, maxLatentSide: 16 });
  const ctx64 = sampleContext(model64, tok);

  it('trainEdit validates the edit at the given image size (a change too small at 32 px can be enough at 64 px)', () => {
    // draws whose first scene's edit changes too few pixels at 32 px but enough at 64 px
    for (const [category, s] of [
      ['material_alter', 18],
      ['style_change', 24],
      ['multi_instruction', 16],
    ] as const) {
      const r = new Rng(s);
      let seed: number;
      do seed = r.int(0, 0x7ffffffe);
      while (splitOf(seed, DEFAULT_MIXTURE.evalFraction) !== 'train');
      const at64 = generateEdit(category, seed, { width: 64 });
      expect(generateEdit(category, seed, { width: 32 }).attempts, `${category}: the 32 px edit is another one`).toBeGreaterThan(at64.attempts);
      expect(trainEdit(category, new Rng(s), DEFAULT_MIXTURE.evalFraction, 64), category).toEqual(at64.edit);
      expect(trainEdit(category, new Rng(s), DEFAULT_MIXTURE.evalFraction, 32), category).toEqual(generateEdit(category, seed, { width: 32 }).edit);
    }
  });

  it('understanding and edit samples are rendered at the model\'s image size', async () => {
    const { understandingSample } = await import('../../src/data/samples.js');
    const { generateQa } = await import('../../src/world/understanding.js');
    const cats = ['subject_add'] as const;
    // understanding: the same draws by hand (category, the understanding coin, the edit, its Q/A fork)
    const und = new WorldSource(mix({ understandingRatio: 0.999, dropout: NO_DROPOUT, categories: [...cats] }), ctx64, model64);
    const gotU = und.sample(new Rng(41).fork(0));
    {
      const r = new Rng(41).fork(0);
      r.pick([...cats]);
      expect(r.chance(0.999)).toBe(true);
      const edit = trainEdit('subject_add', r, DEFAULT_MIXTURE.evalFraction, 64);
      const qa = generateQa(edit.source, r.fork('qa'), 1);
      expect(qa.length).toBe(1);
      const image = renderScene(edit.source, { width: 64 }).image;
      expect(gotU.kind).toBe('understanding');
      expect(gotU.sample).toEqual(understandingSample({ image, question: qa[0].question, answer: qa[0].answer }, ctx64));
    }
    // edit: source and target at 64 px
    const ed = new WorldSource(mix({ understandingRatio: 0, dropout: NO_DROPOUT, categories: [...cats] }), ctx64, model64);
    const gotE = ed.sample(new Rng(42).fork(0));
    {
      const r = new Rng(42).fork(0);
      r.pick([...cats]);
      r.chance(0);
      const edit = trainEdit('subject_add', r, DEFAULT_MIXTURE.evalFraction, 64);
      const source = renderScene(edit.source, { width: 64 }).image;
      const target = renderScene(edit.target, { width: 64 }).image;
      const want = editTrainingSample({ source, target, instruction: edit.instruction, cot: cotForEdit(edit, 'meta') }, ctx64, r.fork('noise'), NO_DROPOUT).sample;
      expect(gotE.kind).toBe('edit');
      expect(gotE.sample).toEqual(want);
    }
  });

  it('a sample that fills the token budget exactly is taken', () => {
    const probe = new WorldSource(mix(), ctx, model);
    for (const [step, micro] of [
      [0, 0],
      [3, 1],
    ]) {
      const rng = new Rng(hashSeed('sft-batch', DEFAULT_MIXTURE.seed, step, micro));
      const l0 = probe.sample(rng.fork(0)).sample.length;
      const l1 = probe.sample(rng.fork(1)).sample.length;
      const src = new WorldSource(mix({ tokenBudget: l0 + l1 }), ctx, model);
      const { batch, samples } = src.batchAt(step, micro);
      expect(samples, `(${step}, ${micro})`).toBe(2);
      expect(batch.ids.length).toBe(l0 + l1);
    }
  });
});
