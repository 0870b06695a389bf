// Think-then-edit sampling on a micro model with random weights, against a reference built from the
// definitions with the training path (full forward passes over SequenceBuilder layouts, no KV cache):
// each of the three CFG contexts holds the conditions it should (full: images, instruction, CoT; no
// text: images only; no image: instruction and CoT), its noise segment sits where training puts it,
// the guidance combines them with the float64 CFG reference inside its interval, and the Euler steps
// run from t = 1 to 0 on the shifted schedule.
import { describe, expect, it } from 'vitest';

import { packSamples } from '../../src/data/pack.js';
import { editContext } from '../../src/data/samples.js';
import { MotModel } from '../../src/model/model.js';
import { type EditOptions, editImage, pickToken, thinkBatch, thinkCot } from '../../src/sample/edit.js';
import { Rng } from '../../src/world/rng.js';
import { expectClose, randArray } from '../helpers.js';
import { randomizeParams } from '../model/fixtures.js';
import { cfg, ctx, picture, reference, tok } from './fixture.js';

describe('editImage (think-then-edit sampling)', () => {
  const source = picture(3);
  const instruction = 'remove the red circle';
  const cot = '<summary> meta : remove </summary>';
  const noise = Float32Array.from(randArray(9 * cfg.latentChannels, 9));

  for (const [name, opts] of [
    ['CFG at every step, text_channel renorm', { steps: 4, timestepShift: 3, cfgText: 4, cfgImg: 2, cfgInterval: [0, 1], renorm: 'text_channel', renormMin: 0 }],
    ['CFG only inside [0.6, 1], global renorm with a floor', { steps: 5, timestepShift: 1, cfgText: 3, cfgImg: 1.5, cfgInterval: [0.6, 1], renorm: 'global', renormMin: 0.5 }],
    ['no renorm (floor 1): the plain two-scale guidance', { steps: 3, timestepShift: 2, cfgText: 2.5, cfgImg: 3, cfgInterval: [0, 1], renorm: 'channel', renormMin: 1 }],
  ] as const)
    it(`with a given CoT matches the forward-pass reference: ${name}`, async () => {
      using model = MotModel.create(cfg, { seed: 1, grads: false });
      randomizeParams(model, 5, { scale: 0.4 });
      const o = { ...(opts as unknown as Partial<EditOptions>), cot, noise, think: true };
      const out = await editImage(model, ctx, source, instruction, o);
      expect(out.cot).toBe(tok.decode(tok.encode(cot)));
      expect(out.cotComplete).toBe(true);
      const want = await reference(model, source, instruction, out.cot, noise, { ...(await import('../../src/sample/edit.js')).DEFAULT_EDIT, ...o });
      // the step moved x (a reference that did nothing would not match by accident)
      expect(Math.max(...Array.from(want, (w, j) => Math.abs(w - noise[j])))).toBeGreaterThan(0.05);
      expectClose(out.latents, want, { atol: 2e-4, rtol: 1e-3, name: 'latents' });
      // the image is the decoded latents
      expect(Array.from(out.image.data)).toEqual(Array.from(ctx.codec.decode({ rows: 3, cols: 3, dim: cfg.latentChannels, data: out.latents }).data));
    });

  it('without thinking and without a CoT: no CoT segment, and the latents of the instruction-only reference', async () => {
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 5, { scale: 0.4 });
    const o = { steps: 3, timestepShift: 2, cfgText: 2, cfgImg: 1.5, cfgInterval: [0, 1] as [number, number], renorm: 'global' as const, renormMin: 0, noise, think: false };
    const out = await editImage(model, ctx, source, instruction, o);
    expect(out).toMatchObject({ cot: '', cotTokens: [], cotComplete: false });
    const want = await reference(model, source, instruction, '', noise, { ...(await import('../../src/sample/edit.js')).DEFAULT_EDIT, ...o });
    expectClose(out.latents, want, { atol: 2e-4, rtol: 1e-3, name: 'latents' });
  });

  it('the noise option is checked, and the seed draws the noise when it is absent', async () => {
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 5, { scale: 0.4 });
    const o = { steps: 2, cot, think: true };
    await expect(editImage(model, ctx, source, instruction, { ...o, noise: new Float32Array(5) })).rejects.toThrow(
      `editImage: option 'noise' expected ${9 * cfg.latentChannels} floats (9 tokens x ${cfg.latentChannels} channels), received 5`,
    );
    const a = await editImage(model, ctx, source, instruction, { ...o, seed: 4 });
    const b = await editImage(model, ctx, source, instruction, { ...o, seed: 4 });
    const c = await editImage(model, ctx, source, instruction, { ...o, seed: 5 });
    expect(a.latents).toEqual(b.latents);
    expect(a.latents).not.toEqual(c.latents);
  });

  it('greedy thinking decodes what the model argmaxes, token by token, and closes the CoT', async () => {
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 6, { scale: 0.4 });
    const out = await editImage(model, ctx, source, instruction, { steps: 2, think: true, maxCotTokens: 5, temperature: 0 });
    expect(out.cotTokens.length).toBeLessThanOrEqual(5);
    expect(out.cot).toBe(tok.decode(out.cotTokens));
    // the reference: full forward passes over [images][instruction][im_start cot-so-far] (the segment still open)
    const ids: number[] = [];
    const never = new Set([tok.special.imStart, tok.special.visionStart, tok.special.visionEnd]);
    for (let k = 0; k < 5; k++) {
      const s = editContext({ source, instruction }, ctx).text(ids).build();
      // [im_start ids im_end]: a CE target on the token before im_end gives the logits after the ids
      s.ceTargets.fill(-1);
      s.ceTargets[s.length - 2] = 0;
      const r = await model.forward(packSamples([s]), { logits: true });
      const logits = r.logits!;
      let best = -1;
      for (let i = 0; i < tok.size; i++) if (!never.has(i) && (best < 0 || logits[i] > logits[best])) best = i;
      if (best === tok.special.imEnd) break;
      ids.push(best);
    }
    expect(ids.length).toBeGreaterThan(1);
    expect(out.cotTokens).toEqual(ids);
    expect(out.cotComplete).toBe(ids.length < 5);
  });
});

describe('pickToken', () => {
  const logits = Float32Array.of(0.5, 2, -1, 1.5, 0);
  it('greedy: the argmax among the allowed ids', () => {
    const r = new Rng(1);
    expect(pickToken(logits, 0, 0, r)).toBe(1);
    expect(pickToken(logits, 0, 0, r, (i) => i !== 1)).toBe(3);
    expect(pickToken(logits, -1, 2, r, (i) => i !== 1 && i !== 3)).toBe(0);
  });

  it('with a temperature: frequencies follow softmax(logits / T); top-k keeps the k best only', () => {
    const r = new Rng(7);
    const n = 20000;
    for (const [T, k] of [
      [1, 0],
      [0.5, 0],
      [2, 3],
    ]) {
      const counts = new Array(logits.length).fill(0);
      for (let i = 0; i < n; i++) counts[pickToken(logits, T, k, r)]++;
      const order = [1, 3, 0, 4, 2];
      const keep = k > 0 ? order.slice(0, k) : order;
      const w = Array.from(logits, (l, i) => (keep.includes(i) ? Math.exp(l / T) : 0));
      const z = w.reduce((a, b) => a + b, 0);
      w.forEach((wi, i) => {
        const p = wi / z;
        // 5 standard deviations of a binomial share
        expect(Math.abs(counts[i] / n - p), `T ${T} k ${k} id ${i}`).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
      });
    }
  });

  it('thinking in a batch gives each edit the CoT of its own thinkCot, greedy and sampled', async () => {
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 6, { scale: 0.4 });
    const reqs = [
      { source: picture(3), instruction: 'remove the red circle', seed: 1 },
      { source: picture(8), instruction: 'paint the square blue', seed: 2 },
      { source: picture(9), instruction: 'move the triangle left', seed: 3 },
    ];
    for (const o of [{ maxCotTokens: 6, temperature: 0 }, { maxCotTokens: 9, temperature: 1.2, topK: 8 }]) {
      const batch = await thinkBatch(model, ctx, reqs, o);
      for (const [i, r] of reqs.entries()) {
        const one = await thinkCot(model, ctx, r.source, r.instruction, { ...o, seed: r.seed });
        expect(batch[i].cotTokens, `request ${i}, temperature ${o.temperature}`).toEqual(one.cotTokens);
        expect(batch[i].cotComplete).toBe(one.cotComplete);
        expect(batch[i].cot).toBe(one.cot);
        expect(batch[i].cotTokens.length).toBeLessThanOrEqual(o.maxCotTokens);
      }
    }
    expect(await thinkBatch(model, ctx, [], {})).toEqual([]);
    expect((await thinkBatch(model, ctx, reqs.slice(0, 1), { maxCotTokens: 0 }))[0]).toEqual({ cot: '', cotTokens: [], cotComplete: false, seconds: 0 });
  });
});

describe('pickToken: large logits and the top of the draw range', () => {
  it('subtracts the largest logit first: large logits give the softmax of their differences, not overflow', () => {
    const r = new Rng(3);
    for (let i = 0; i < 50; i++) expect(pickToken(Float32Array.of(500, 0), 1, 0, r)).toBe(0);
    // softmax is shift-invariant: (800, 799) at T = 1 picks id 0 with probability 1 / (1 + e^-1)
    const n = 4000;
    let zeros = 0;
    for (let i = 0; i < n; i++) if (pickToken(Float32Array.of(800, 799), 1, 0, r) === 0) zeros++;
    const p = 1 / (1 + Math.exp(-1));
    expect(Math.abs(zeros / n - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
  });

  it('a draw at the very top of the range (u = total weight) picks the last candidate, also when rounding leaves u a hair above', () => {
    const top = { next: () => 1 } as unknown as Rng;
    const logits = Float32Array.of(0.5, 2, -1, 1.5, 0);
    expect(pickToken(logits, 1, 0, top)).toBe(2);
    expect(pickToken(logits, 2, 0, top)).toBe(2);
    expect(pickToken(Float32Array.of(0, -1, -2), 1, 0, top)).toBe(2);
    expect(pickToken(Float32Array.of(0, -0.5, -1, -1.5), 0.5, 0, top)).toBe(3);
  });
});

describe('thinkCot: ids it never emits', () => {
  it('never emits im_start, the vision markers or the padded vocabulary ids, even when the model prefers them', async () => {
    const untied = { ...cfg, tieEmbeddings: false };
    expect(cfg.vocab).toBeGreaterThan(tok.size); // there are padded ids
    const never = [tok.special.imStart, tok.special.visionStart, tok.special.visionEnd];
    for (const sign of [1, -1]) {
      using model = MotModel.create(untied, { seed: 1, grads: false });
      randomizeParams(model, 6, { scale: 0.4 });
      // lm_head rows that make a forbidden id the argmax: +c and -c on the same hidden unit, so one of
      // each pair has the largest logit whatever that unit's sign (the sign run flips the pairs)
      const li = model.layout.findIndex((s) => s.name === 'lm_head.weight');
      const D = untied.hidden;
      const w = model.params[li].toFloat32Array();
      const c = 1e4;
      const row = (id: number, unit: number, v: number) => {
        w.fill(0, id * D, (id + 1) * D);
        w[id * D + unit] = v;
      };
      row(tok.size, 0, sign * c); // the first padded id
      row(tok.size + 1, 0, -sign * c);
      row(tok.special.imStart, 1, sign * c);
      row(tok.special.visionStart, 1, -sign * c);
      row(tok.special.visionEnd, 2, sign * c);
      model.params[li].upload(w);
      for (const o of [{ temperature: 0 }, { temperature: 1, topK: 4, seed: 2 }]) {
        const out = await thinkCot(model, ctx, picture(3), 'remove the red circle', { maxCotTokens: 6, ...o });
        // thinkBatch filters the same ids
        const [batched] = await thinkBatch(model, ctx, [{ source: picture(3), instruction: 'remove the red circle', seed: 2 }], { maxCotTokens: 6, ...o });
        for (const th of [out, batched]) {
          expect(th.cotTokens.length, `sign ${sign}, temperature ${o.temperature}`).toBeGreaterThan(0);
          for (const id of th.cotTokens) {
            expect(id, `sign ${sign}, temperature ${o.temperature}`).toBeLessThan(tok.size);
            expect(never, `sign ${sign}, temperature ${o.temperature}`).not.toContain(id);
          }
        }
      }
    }
  });
});

describe('thinking ends at im_end', () => {
  // lm_head with only two live rows on hidden unit 0: im_end (+c) and another id (-c); whichever the
  // unit's sign favours is the argmax, so across both signs a CoT ends at its first token
  function biased(sign: number, c: number): MotModel {
    const untied = { ...cfg, tieEmbeddings: false };
    const model = MotModel.create(untied, { seed: 1, grads: false });
    randomizeParams(model, 6, { scale: 0.4 });
    const li = model.layout.findIndex((s) => s.name === 'lm_head.weight');
    const D = untied.hidden;
    const w = new Float32Array(model.params[li].numel);
    w[tok.special.imEnd * D] = sign * c;
    w[5 * D] = -sign * c;
    model.params[li].upload(w);
    return model;
  }

  it('an im_end token completes the CoT and is not part of it (thinkCot and thinkBatch)', async () => {
    const runs = [];
    for (const sign of [1, -1]) {
      using model = biased(sign, 1e4);
      const one = await thinkCot(model, ctx, picture(3), 'remove the red circle', { maxCotTokens: 5, temperature: 0 });
      const [batched] = await thinkBatch(model, ctx, [{ source: picture(3), instruction: 'remove the red circle', seed: 0 }], { maxCotTokens: 5, temperature: 0 });
      for (const th of [one, batched]) {
        expect(th.cotTokens).not.toContain(tok.special.imEnd);
        expect(th.cotComplete).toBe(th.cotTokens.length < 5);
      }
      expect(batched.cotTokens).toEqual(one.cotTokens);
      runs.push(one);
    }
    expect(runs.some((r) => r.cotComplete && r.cotTokens.length === 0)).toBe(true);
  });

  it('in a batch, edits that finish at different steps keep their own sample: each CoT is its thinkCot', async () => {
    using model = biased(-1, 4);
    const reqs = [3, 4, 5, 6, 7, 8].map((k, i) => ({ source: picture(k), instruction: 'move the triangle left', seed: 10 + i }));
    const o = { maxCotTokens: 10, temperature: 1 };
    const batch = await thinkBatch(model, ctx, reqs, o);
    const lengths = new Set(batch.map((b) => b.cotTokens.length));
    expect(lengths.size, `lengths ${[...lengths]}`).toBeGreaterThan(1);
    for (let i = 0; i < reqs.length; i++) {
      const one = await thinkCot(model, ctx, reqs[i].source, reqs[i].instruction, { ...o, seed: reqs[i].seed });
      expect(batch[i].cotTokens, `edit ${i}`).toEqual(one.cotTokens);
      expect(batch[i].cotComplete).toBe(one.cotComplete);
    }
  });
});
