// Packing, checked token by token against hand-built expectations for one edit sample and one
// understanding sample (segment, mode, kind, expert, RoPE position, CE target, latent rows), then
// packed together: sample isolation by the float64 reference model (the pair gives the same logits
// and velocities as each sample alone), and splitting by a token budget.
import { describe, expect, it } from 'vitest';
import { IdentityCodec, patchify } from '../../src/data/codec.js';
import { groupByBudget, packByBudget, packSamples } from '../../src/data/pack.js';
import { editTrainingSample, NO_DROPOUT, type SampleContext, understandingSample } from '../../src/data/samples.js';
import { WordTokenizer } from '../../src/data/tokenizer.js';
import { createImage, type RgbImage } from '../../src/world/image.js';
import { Rng } from '../../src/world/rng.js';
import { motForwardRef, type RefConfig, type RefParams } from '../ref/mot.js';

const tok = WordTokenizer.fromCorpus(['paint it red', 'keep going', 'how many ?', 'two'], []);
const ctx: SampleContext = {
  tokenizer: tok,
  codec: new IdentityCodec(2),
  vitPatch: 2,
  dims: { latentChannels: 12, vitPatchDim: 12, maxLatentSide: 4 },
  timestepShift: 1,
};

function picture(seed: number): RgbImage {
  const img = createImage(4, 4);
  const r = new Rng(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = r.int(0, 255);
  return img;
}

const src = picture(1);
const tgt = picture(2);
const S = tok.special;
const id = (w: string) => tok.idOf(w)!;

// Segment rows of the hand-built edit: [clean 0..6) [vit 6..12) [instruction 12..17) [CoT 17..21) [noise 21..27)
const EDIT = {
  ids: [S.visionStart, 0, 0, 0, 0, S.visionEnd, S.visionStart, 0, 0, 0, 0, S.visionEnd,
    S.imStart, id('paint'), id('it'), id('red'), S.imEnd, S.imStart, id('keep'), id('going'), S.imEnd,
    S.visionStart, 0, 0, 0, 0, S.visionEnd],
  kind: [0, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 0],
  expert: [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0],
  // clean image at 0, ViT at 1, text 2..10, the noisy image shares 11 and does not advance
  pos: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 11, 11, 11, 11],
  // next-token targets inside the CoT segment only; its last token (im_end) predicts nothing
  ce: [...Array(17).fill(-1), id('keep'), id('going'), S.imEnd, -1, ...Array(6).fill(-1)],
  seg: [[0, 6, 1], [6, 12, 1], [12, 17, 0], [17, 21, 0], [21, 27, 2]],
};

// [ViT 0..6) [question 6..11) [answer 11..14)
const UND = {
  ids: [S.visionStart, 0, 0, 0, 0, S.visionEnd, S.imStart, id('how'), id('many'), id('?'), S.imEnd, S.imStart, id('two'), S.imEnd],
  kind: [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  expert: Array(14).fill(0),
  pos: [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
  ce: [...Array(11).fill(-1), id('two'), S.imEnd, -1],
  seg: [[0, 6, 1], [6, 11, 0], [11, 14, 0]],
};

function editSample() {
  return editTrainingSample({ source: src, target: tgt, instruction: 'paint it red', cot: 'keep going' }, ctx, new Rng(7), NO_DROPOUT);
}

describe('one edit sample, token by token', () => {
  const { sample: s, info } = editSample();

  it('segments, modes, kinds, experts, positions and CE targets', () => {
    expect(s.length).toBe(27);
    expect(Array.from(s.ids)).toEqual(EDIT.ids);
    expect(Array.from(s.kind)).toEqual(EDIT.kind);
    expect(Array.from(s.expert)).toEqual(EDIT.expert);
    expect(Array.from(s.pos)).toEqual(EDIT.pos);
    expect(Array.from(s.ceTargets)).toEqual(EDIT.ce);
    expect(s.segments.map((g) => [g.start, g.end, g.mode])).toEqual(EDIT.seg);
    expect(s.segments.map((g) => g.role)).toEqual(['clean', 'vit', 'text', 'text', 'noise']);
  });

  it('image rows: clean latents, ViT patches, positions, t, the noisy latents and their velocity target', () => {
    const x0 = patchify(src, 2).data;
    const y0 = patchify(tgt, 2).data;
    expect(Array.from(s.vitPatches)).toEqual(Array.from(x0));
    expect(Array.from(s.vitPos)).toEqual([0, 1, 4, 5]);
    expect(Array.from(s.latentPos)).toEqual([0, 1, 4, 5, 0, 1, 4, 5]);
    expect(Array.from(s.latents.subarray(0, 48))).toEqual(Array.from(x0));
    const t = info.t;
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(1);
    expect(Array.from(s.latentT)).toEqual([0, 0, 0, 0, t, t, t, t].map(Math.fround));
    expect(Array.from(s.mseMask)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(s.mseTarget.subarray(0, 48))).toEqual(Array(48).fill(0));
    // x_t = (1 - t) y0 + t eps and v = eps - y0, so x_t = y0 + t v
    const xt = s.latents.subarray(48);
    const v = s.mseTarget.subarray(48);
    for (let i = 0; i < 48; i++) expect(xt[i]).toBeCloseTo(y0[i] + t * v[i], 5);
    // and the noise is not degenerate
    const eps = Array.from(v, (vi, i) => vi + y0[i]);
    const mean = eps.reduce((a, b) => a + b, 0) / eps.length;
    expect(Math.abs(mean)).toBeLessThan(0.5);
    expect(Math.sqrt(eps.reduce((a, b) => a + (b - mean) ** 2, 0) / eps.length)).toBeGreaterThan(0.5);
  });

  it('is deterministic in its seed', () => {
    expect(editSample().sample).toEqual(s);
    expect(editTrainingSample({ source: src, target: tgt, instruction: 'paint it red', cot: 'keep going' }, ctx, new Rng(8), NO_DROPOUT).sample.latents).not.toEqual(s.latents);
  });
});

describe('one understanding sample, token by token', () => {
  it('[ViT] [question] [answer with CE]', () => {
    const s = understandingSample({ image: src, question: 'how many ?', answer: 'two' }, ctx);
    expect(Array.from(s.ids)).toEqual(UND.ids);
    expect(Array.from(s.kind)).toEqual(UND.kind);
    expect(Array.from(s.expert)).toEqual(UND.expert);
    expect(Array.from(s.pos)).toEqual(UND.pos);
    expect(Array.from(s.ceTargets)).toEqual(UND.ce);
    expect(s.segments.map((g) => [g.start, g.end, g.mode])).toEqual(UND.seg);
    expect(s.latents).toHaveLength(0);
    expect(Array.from(s.vitPos)).toEqual([0, 1, 4, 5]);
  });
});

describe('packing', () => {
  const edit = editSample().sample;
  const und = understandingSample({ image: src, question: 'how many ?', answer: 'two' }, ctx);

  it('concatenates tokens, offsets segment rows and tags them with the sample index', () => {
    const b = packSamples([edit, und]);
    expect(b.ids).toHaveLength(41);
    expect(Array.from(b.ids)).toEqual([...EDIT.ids, ...UND.ids]);
    expect(Array.from(b.pos)).toEqual([...EDIT.pos, ...UND.pos]);
    expect(Array.from(b.ceTargets!)).toEqual([...EDIT.ce, ...UND.ce]);
    const rows: number[][] = [];
    for (let i = 0; i < b.seg.length; i += 4) rows.push(Array.from(b.seg.subarray(i, i + 4)));
    expect(rows).toEqual([...EDIT.seg.map((r) => [...r, 0]), ...UND.seg.map(([a, e, m]) => [a + 27, e + 27, m, 1])]);
    expect(Array.from(b.vitPos)).toEqual([0, 1, 4, 5, 0, 1, 4, 5]);
    expect(b.vitPatches).toHaveLength(96);
    expect(b.latents).toHaveLength(96);
    expect(b.mseMask).toHaveLength(8);
  });

  it('keeps samples isolated: the reference model gives each the same outputs packed or alone', () => {
    const cfg: RefConfig = {
      vocab: tok.size, hidden: 16, layers: 2, heads: 2, kvHeads: 1, headDim: 8, mlp: 24, ropeTheta: 10000, rmsEps: 1e-6,
      latentChannels: 12, vitPatchDim: 12, maxLatentSide: 4, timestepDim: 8, tieEmbeddings: false,
    };
    const params = randomParams(cfg, 3);
    const a = motForwardRef(cfg, params, packSamples([edit]));
    const b = motForwardRef(cfg, params, packSamples([und]));
    const ab = motForwardRef(cfg, params, packSamples([edit, und]));
    expect(Array.from(ab.logits)).toHaveLength(a.logits.length + b.logits.length);
    const joint = [...a.logits, ...b.logits];
    ab.logits.forEach((v, i) => expect(Math.abs(v - joint[i])).toBeLessThan(1e-9));
    ab.velocities.forEach((v, i) => expect(Math.abs(v - a.velocities[i])).toBeLessThan(1e-9));
    expect(a.mse).toBeGreaterThan(0);
    // and the understanding sample really sees its image: other pixels, other logits
    const other = understandingSample({ image: tgt, question: 'how many ?', answer: 'two' }, ctx);
    const c = motForwardRef(cfg, params, packSamples([other]));
    expect(Math.max(...c.logits.map((v, i) => Math.abs(v - b.logits[i])))).toBeGreaterThan(1e-6);
  });

  it('splits a stream by a token budget, in order, refusing a sample longer than the budget', () => {
    const lens = [5, 4, 3, 8, 1, 1].map((length, i) => ({ length, i }));
    expect(groupByBudget(lens, 9).map((g) => g.map((x) => x.i))).toEqual([[0, 1], [2], [3, 4], [5]]);
    expect(() => groupByBudget(lens, 7)).toThrow(/sample 3 has 8 tokens, more than the budget of 7/);
    const batches = packByBudget([edit, und, und, edit], 45);
    expect(batches.map((b) => b.ids.length)).toEqual([41, 41]);
    expect(() => packSamples([])).toThrow(/at least one sample/);
  });
});

/** Random parameters under the reference model's names (test/ref/mot.ts). */
function randomParams(c: RefConfig, seed: number): RefParams {
  const r = new Rng(seed);
  const D = c.hidden;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const shapes: Record<string, number> = {
    'embed.weight': c.vocab * D,
    'lm_head.weight': c.vocab * D,
    'vit.patch_embed.weight': D * c.vitPatchDim,
    'vit.patch_embed.bias': D,
    'vit.connector.fc1.weight': D * D,
    'vit.connector.fc1.bias': D,
    'vit.connector.fc2.weight': D * D,
    'vit.connector.fc2.bias': D,
    'time_embedder.fc1.weight': D * c.timestepDim,
    'time_embedder.fc1.bias': D,
    'time_embedder.fc2.weight': D * D,
    'time_embedder.fc2.bias': D,
    'vae2llm.weight': D * c.latentChannels,
    'vae2llm.bias': D,
    'llm2vae.weight': c.latentChannels * D,
    'llm2vae.bias': c.latentChannels,
    'final_norm.und.weight': D,
    'final_norm.gen.weight': D,
  };
  for (let l = 0; l < c.layers; l++) {
    for (const e of ['und', 'gen']) {
      const p = `layers.${l}.${e}.`;
      Object.assign(shapes, {
        [`${p}input_norm.weight`]: D,
        [`${p}q_proj.weight`]: qd * D,
        [`${p}q_proj.bias`]: qd,
        [`${p}k_proj.weight`]: kvd * D,
        [`${p}k_proj.bias`]: kvd,
        [`${p}v_proj.weight`]: kvd * D,
        [`${p}v_proj.bias`]: kvd,
        [`${p}q_norm.weight`]: c.headDim,
        [`${p}k_norm.weight`]: c.headDim,
        [`${p}o_proj.weight`]: D * qd,
        [`${p}post_norm.weight`]: D,
        [`${p}mlp.gate_proj.weight`]: c.mlp * D,
        [`${p}mlp.up_proj.weight`]: c.mlp * D,
        [`${p}mlp.down_proj.weight`]: D * c.mlp,
      });
    }
  }
  const out: RefParams = new Map();
  for (const [name, n] of Object.entries(shapes)) {
    const norm = name.includes('norm');
    out.set(name, Float64Array.from({ length: n }, () => (norm ? 1 + (r.next() * 2 - 1) * 0.2 : (r.next() * 2 - 1) * 0.3)));
  }
  return out;
}
