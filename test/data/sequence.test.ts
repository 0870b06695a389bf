// SequenceBuilder details the packing tests do not reach: a suffix builder continuing a prefix's
// positions (what the sampler lays its noise segments out with), and storage growing past its first
// allocation; the ends of noiseLatents' t range and groupByBudget's boundaries.
import { describe, expect, it } from 'vitest';

import { noiseLatents } from '../../src/data/flow.js';
import { groupByBudget } from '../../src/data/pack.js';
import { SequenceBuilder } from '../../src/data/sequence.js';
import { WordTokenizer } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/world/rng.js';

const tok = WordTokenizer.fromCorpus(['a b c'], []);
const dims = { latentChannels: 4, vitPatchDim: 4, maxLatentSide: 16 };

describe('SequenceBuilder', () => {
  it('a builder started at a prefix position lays the suffix out as the whole sample would', () => {
    const prefix = new SequenceBuilder(tok.special, dims).text(tok.encode('a b'));
    const whole = new SequenceBuilder(tok.special, dims).text(tok.encode('a b'));
    const x = { rows: 2, cols: 2, dim: 4, data: Float32Array.from({ length: 16 }, (_, i) => i / 10) };
    whole.noisyImage(x, 0.25);
    const suffix = new SequenceBuilder(tok.special, dims, prefix.position).noisyImage(x, 0.25).build();
    const w = whole.build();
    const from = prefix.length;
    expect(prefix.position).toBe(4);
    expect(Array.from(suffix.pos)).toEqual(Array.from(w.pos.subarray(from)));
    expect(Array.from(suffix.ids)).toEqual(Array.from(w.ids.subarray(from)));
    expect(Array.from(suffix.kind)).toEqual(Array.from(w.kind.subarray(from)));
    expect(Array.from(suffix.latentT)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(suffix.segments).toEqual([{ start: 0, end: 6, mode: 2, role: 'noise' }]);
    expect(() => new SequenceBuilder(tok.special, dims, -1)).toThrow("SequenceBuilder: argument 'start' expected a non-negative integer, received -1");
    expect(() => new SequenceBuilder(tok.special, dims, 1.5)).toThrow("SequenceBuilder: argument 'start' expected a non-negative integer, received 1.5");
  });

  it('continueText: a causal segment of the tokens alone, positions continuing, no loss', () => {
    const [a, b] = tok.encode('a b');
    const s = new SequenceBuilder(tok.special, dims, 7).continueText([a, b]).build();
    expect(Array.from(s.ids)).toEqual([a, b]);
    expect(Array.from(s.pos)).toEqual([7, 8]);
    expect(Array.from(s.kind)).toEqual([0, 0]);
    expect(Array.from(s.expert)).toEqual([0, 0]);
    expect(Array.from(s.ceTargets)).toEqual([-1, -1]);
    expect(s.segments).toEqual([{ start: 0, end: 2, mode: 0, role: 'text' }]);
    expect(() => new SequenceBuilder(tok.special, dims).continueText([])).toThrow('SequenceBuilder.continueText: expected at least one token, received none');
  });

  it('keeps every float when an image outgrows the first allocation (256 floats)', () => {
    const data = Float32Array.from({ length: 16 * 16 * 4 }, (_, i) => i);
    const target = Float32Array.from(data, (v) => -v);
    const b = new SequenceBuilder(tok.special, dims).cleanImage({ rows: 16, cols: 16, dim: 4, data }).noisyImage({ rows: 16, cols: 16, dim: 4, data }, 0.5, target);
    const s = b.build();
    expect(s.latents.length).toBe(2 * data.length);
    expect(Array.from(s.latents.subarray(0, data.length))).toEqual(Array.from(data));
    expect(Array.from(s.latents.subarray(data.length))).toEqual(Array.from(data));
    expect(Array.from(s.mseTarget.subarray(0, data.length)).every((v) => v === 0)).toBe(true);
    expect(Array.from(s.mseTarget.subarray(data.length))).toEqual(Array.from(target));
    expect(Array.from(s.mseMask)).toEqual([...Array(256).fill(0), ...Array(256).fill(1)]);
    expect(Array.from(s.latentT)).toEqual([...Array(256).fill(0), ...Array(256).fill(0.5)]);
    // the clean image advances the position by one, the noisy one does not
    expect(s.pos[0]).toBe(0);
    expect(s.pos[s.length - 1]).toBe(1);
    expect(b.position).toBe(1);
  });

  it('refuses image tokens whose data is not rows*cols*dim floats, and a velocity target of another length', () => {
    const b = new SequenceBuilder(tok.special, dims);
    expect(() => b.cleanImage({ rows: 2, cols: 2, dim: 4, data: new Float32Array(12) })).toThrow('SequenceBuilder.cleanImage: expected 16 floats, got 12');
    expect(() => b.noisyImage({ rows: 2, cols: 2, dim: 4, data: new Float32Array(20) }, 0.5)).toThrow('SequenceBuilder.noisyImage: expected 16 floats, got 20');
    const x = { rows: 2, cols: 2, dim: 4, data: new Float32Array(16) };
    expect(() => b.noisyImage(x, 0.5, new Float32Array(15))).toThrow('SequenceBuilder.noisyImage: target must have 16 floats, got 15');
    expect(() => b.noisyImage(x, 0.5, new Float32Array(17))).toThrow('SequenceBuilder.noisyImage: target must have 16 floats, got 17');
    expect(b.length).toBe(0);
    expect(b.build().segments).toEqual([]);
  });

  it('noisyImage takes t in [0, 1], both ends included, and refuses anything else', () => {
    const x = { rows: 2, cols: 2, dim: 4, data: new Float32Array(16) };
    for (const t of [-0.1, -1e-9, 1.1, Number.NaN]) {
      expect(() => new SequenceBuilder(tok.special, dims).noisyImage(x, t)).toThrow(`SequenceBuilder.noisyImage: t must be in [0, 1], got ${t}`);
    }
    for (const t of [0, 1]) {
      const s = new SequenceBuilder(tok.special, dims).noisyImage(x, t).build();
      expect(Array.from(s.latentT)).toEqual([t, t, t, t]);
    }
  });

  it('appendText without an open text segment throws before adding anything', () => {
    const [a] = tok.encode('a');
    const b = new SequenceBuilder(tok.special, dims);
    expect(() => b.appendText([a])).toThrow('SequenceBuilder.appendText: no text segment is open (use text(ids, { close: false }))');
    const closed = new SequenceBuilder(tok.special, dims).text([a]);
    expect(() => closed.appendText([a])).toThrow(/appendText: no text segment is open/);
    expect(b.length).toBe(0);
    expect(b.position).toBe(0);
    expect(closed.length).toBe(3);
    expect(closed.position).toBe(3);
  });
});

describe('noiseLatents and groupByBudget edges', () => {
  it('noiseLatents draws exactly one gaussian per float from the Rng', () => {
    for (const n of [1, 4, 7]) {
      const rng = new Rng(11);
      noiseLatents(new Float32Array(n), 0.5, rng);
      const fresh = new Rng(11);
      for (let i = 0; i < n; i++) fresh.gaussian();
      expect(rng.gaussian(), `n = ${n}`).toBe(fresh.gaussian());
    }
  });
  it('noises at the ends of [0, 1] exactly and refuses t outside it', () => {
    const x0 = Float32Array.from([0.5, -1, 2, 0.25]);
    const at = (t: number) => noiseLatents(x0, t, new Rng(3));
    const eps = Array.from({ length: 4 }, ((r) => () => r.gaussian())(new Rng(3)));
    const z = at(0);
    expect(Array.from(z.xt)).toEqual(Array.from(x0));
    expect(Array.from(z.v)).toEqual(eps.map((e, i) => Math.fround(e - x0[i])));
    expect(Array.from(at(1).xt)).toEqual(eps.map((e) => Math.fround(e)));
    for (const t of [-0.1, 1.1, Number.NaN]) expect(() => at(t)).toThrow(`noiseLatents: t must be in [0, 1], got ${t}`);
  });

  it('closes a group only when the next sample would overflow it; a sample may fill the budget', () => {
    const s = (...n: number[]) => n.map((length) => ({ length }));
    expect(groupByBudget(s(3, 2), 5).map((g) => g.length)).toEqual([2]);
    expect(groupByBudget(s(3, 3), 5).map((g) => g.length)).toEqual([1, 1]);
    expect(groupByBudget(s(5, 1, 4), 5).map((g) => g.map((x) => x.length))).toEqual([[5], [1, 4]]);
    expect(groupByBudget(s(1, 1), 1).map((g) => g.length)).toEqual([1, 1]);
    expect(groupByBudget([], 4)).toEqual([]);
    for (const b of [0, 1.5, -2]) expect(() => groupByBudget(s(1), b)).toThrow(`groupByBudget: budget must be a positive integer, got ${b}`);
    expect(() => groupByBudget(s(2, 6), 5)).toThrow('groupByBudget: sample 1 has 6 tokens, more than the budget of 5');
  });
});
