// The scene judges: gt against the target scene, cec against the scene the CoT implies; a CoT that
// does not parse or apply scores 0 and is counted; composition as a weighted sum.
import { describe, expect, it } from 'vitest';

import { impliedScene } from '../../src/cot/apply.js';
import { cotForEdit } from '../../src/cot/build.js';
import { parseCot } from '../../src/cot/parse.js';
import { WeightedJudge } from '../../src/judge/compose.js';
import { SceneJudge, cotScene } from '../../src/judge/scene.js';
import { summarize } from '../../src/judge/run.js';
import type { Judge, JudgeItem, Verdict } from '../../src/judge/types.js';
import { identityName } from '../../src/judge/types.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';
import { scoreEdit } from '../../src/world/score.js';

function colorEdit() {
  const edit = generateEdit('color_alter', 3).edit;
  const cot = cotForEdit(edit, 'meta');
  // the same CoT with another target colour: valid, applicable, and not the instruction's edit
  const other = cot.replace('replace color gray -> white', 'replace color gray -> black');
  return { edit, cot, other };
}

function item(over: Partial<JudgeItem> & Pick<JudgeItem, 'edited'>): JudgeItem {
  const { edit, cot } = colorEdit();
  return { id: 'x', source: renderScene(edit.source).image, instruction: edit.instruction, cot, sourceScene: edit.source, targetScene: edit.target, ...over };
}

describe('scene judges', () => {
  it('cec is 10 for the picture of the CoT-implied scene and low for the unedited source', async () => {
    const { edit, other } = colorEdit();
    expect(other).not.toBe(colorEdit().cot);
    const implied = impliedScene(edit.source, parseCot(other, { mode: 'world' }));
    const picture = renderScene(implied).image;
    const cec = new SceneJudge('cec');
    const gt = new SceneJudge('gt');
    const [onImplied] = await cec.score([item({ edited: picture, cot: other })]);
    expect(onImplied).toMatchObject({ ok: true, overall: 10 });
    expect(onImplied.cotError).toBeUndefined();
    // the CoT asked for a change: the unedited source does not carry it out
    const [onSource] = await cec.score([item({ edited: renderScene(edit.source).image, cot: other })]);
    expect(onSource.overall!).toBeLessThanOrEqual(Math.sqrt(10));
    expect(onSource.scores!.ins).toBeLessThanOrEqual(1);
    // gt judges the same picture against the instruction's target: it is the wrong colour
    const [gtOnImplied] = await gt.score([item({ edited: picture })]);
    expect(gtOnImplied.overall!).toBeLessThan(5);
    expect(gtOnImplied.overall).toBeCloseTo(scoreEdit(picture, edit.source, edit.target).overall, 12);
    const [gtOnTarget] = await gt.score([item({ edited: renderScene(edit.target).image })]);
    expect(gtOnTarget.overall).toBe(10);
  });

  it('cec equals the exact scorer against the implied scene, sub-score by sub-score', async () => {
    const { edit, other } = colorEdit();
    const implied = impliedScene(edit.source, parseCot(other, { mode: 'world' }));
    const out = renderScene(edit.target).image;
    const [v] = await new SceneJudge('cec').score([item({ edited: out, cot: other })]);
    const s = scoreEdit(out, edit.source, implied);
    expect(v.scores).toEqual({ ins: s.ins, con: s.con, nat: s.nat, art: s.art });
    expect(v.overall).toBe(s.overall);
    expect(v.overall!).toBeLessThan(10);
  });

  it('a CoT that does not parse, does not apply or is missing scores 0 with the reason, and is counted', async () => {
    const { edit, cot } = colorEdit();
    const target = renderScene(edit.target).image;
    const cec = new SceneJudge('cec');
    const notApplicable = cot.replace('[ small dotted gray triangle @ 18 23 ] replace', '[ small dotted gray triangle @ 30 30 ] replace');
    expect('error' in cotScene(edit.source, notApplicable)).toBe(true);
    const vs = await cec.score([
      item({ id: 'garbled', edited: target, cot: '<summary> meta : nonsense' }),
      item({ id: 'missing', edited: target, cot: '' }),
      item({ id: 'wrong-object', edited: target, cot: notApplicable }),
      item({ id: 'good', edited: target, cot }),
    ]);
    expect(vs.map((v) => [v.id, v.ok, v.overall])).toEqual([
      ['garbled', true, 0],
      ['missing', true, 0],
      ['wrong-object', true, 0],
      ['good', true, 10],
    ]);
    expect(vs[0].cotError).toMatch(/does not parse/);
    expect(vs[1].cotError).toMatch(/no CoT/);
    expect(vs[2].cotError).toMatch(/does not apply/);
    expect(vs[3].cotError).toBeUndefined();
    const s = summarize(cec.identity, vs, () => 'color_alter', 1);
    expect(s).toMatchObject({ lines: 4, scored: 4, cotErrors: 3, overall: 2.5, failures: {} });
  });

  it('an item without scenes is a failure, not a score', async () => {
    const { edit } = colorEdit();
    const [a] = await new SceneJudge('cec').score([item({ edited: renderScene(edit.target).image, sourceScene: undefined })]);
    expect(a).toMatchObject({ ok: false, failure: { kind: 'missing-input' } });
    expect(a.overall).toBeUndefined();
    const [b] = await new SceneJudge('gt').score([item({ edited: renderScene(edit.target).image, targetScene: undefined })]);
    expect(b).toMatchObject({ ok: false, failure: { kind: 'missing-input' } });
    expect(b.failure!.message).toMatch(/target scene/);
    const s = summarize(new SceneJudge('gt').identity, [a, b], () => undefined, 0);
    expect(s).toMatchObject({ scored: 0, overall: null, failures: { 'missing-input': 2 }, itemsPerSecond: 0 });
    expect(() => new SceneJudge('vlm' as 'gt')).toThrow(/argument 'kind' expected 'gt' \| 'cec', received "vlm"/);
  });

  it('calls onItem once per item, in order', async () => {
    const { edit } = colorEdit();
    const seen: [number, string][] = [];
    await new SceneJudge('gt').score(
      ['a', 'b', 'c'].map((id) => item({ id, edited: renderScene(edit.target).image })),
      { onItem: (d, v) => seen.push([d, v.id]) },
    );
    expect(seen).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
  });

  it('cotScene: an absent CoT is no CoT, and values outside the world vocabulary do not parse', () => {
    const { edit, cot } = colorEdit();
    expect(cotScene(edit.source, undefined)).toEqual({ error: 'no CoT to check the edit against' });
    // a colour the world does not have: readable in open mode, not in the world's
    const offWorld = cot.replace('replace color gray -> white', 'replace color gray -> chartreuse');
    expect(offWorld).not.toBe(cot);
    const r = cotScene(edit.source, offWorld);
    expect('error' in r && r.error).toMatch(/^the CoT does not parse: .*chartreuse/);
  });

  it('a cec item scored 0 for its CoT has every sub-score 0 (so sub-score means count it)', async () => {
    const { edit } = colorEdit();
    const target = renderScene(edit.target).image;
    const vs = await new SceneJudge('cec').score([
      item({ id: 'absent', edited: target, cot: undefined }),
      item({ id: 'garbled', edited: target, cot: '<summary> meta : nonsense' }),
    ]);
    for (const v of vs) {
      expect(v).toMatchObject({ ok: true, overall: 0 });
      expect(v.scores).toEqual({ ins: 0, con: 0, nat: 0, art: 0 });
    }
    expect(vs[0].cotError).toBe('no CoT to check the edit against');
  });
});

/** A judge that returns fixed verdicts (by item id). */
function fixed(kind: string, by: Record<string, Partial<Verdict>>): Judge {
  return {
    identity: { kind, version: 't' },
    score: async (items) => items.map((it) => ({ id: it.id, ok: true, reasons: [`${kind} reason`], ...by[it.id] })),
  };
}

describe('WeightedJudge', () => {
  const { edit } = colorEdit();
  const items = ['a', 'b'].map((id) => item({ id, edited: renderScene(edit.target).image }));

  it('overall is the weighted sum; sub-scores are kept per part', async () => {
    const j = new WeightedJudge([
      { judge: fixed('p', { a: { overall: 8, scores: { s: 8 } }, b: { overall: 2, scores: { s: 2 } } }), weight: 0.75 },
      { judge: fixed('q', { a: { overall: 4, scores: { s: 4 } }, b: { overall: 6, scores: { s: 6 }, cotError: 'bad CoT' } }), weight: 0.5 },
    ]);
    const seen: number[] = [];
    const [a, b] = await j.score(items, { onItem: (d) => seen.push(d) });
    expect(a.overall).toBeCloseTo(0.75 * 8 + 0.5 * 4, 12);
    expect(b.overall).toBeCloseTo(0.75 * 2 + 0.5 * 6, 12);
    expect(a.scores).toEqual({ 'p.s': 8, 'q.s': 4 });
    expect(a.reasons).toEqual(['p: p reason', 'q: q reason']);
    expect(a.cotError).toBeUndefined();
    expect(b.cotError).toBe('bad CoT');
    expect(seen).toEqual([1, 2]);
    expect(identityName(j.identity)).toBe('sum@1(0.75xp@t+0.5xq@t)');
  });

  it('an item fails when any part fails, with that part\'s failure', async () => {
    const j = new WeightedJudge([
      { judge: fixed('p', { a: { overall: 8 }, b: { overall: 2 } }), weight: 1 },
      { judge: fixed('q', { a: { overall: 4 }, b: { ok: false, failure: { kind: 'timeout', message: 'slow' } } }), weight: 1 },
    ]);
    const [a, b] = await j.score(items);
    expect(a).toMatchObject({ ok: true, overall: 12 });
    expect(b).toMatchObject({ id: 'b', ok: false, failure: { kind: 'timeout', message: 'slow' } });
  });

  it('refuses an empty list and bad weights, naming the argument', () => {
    expect(() => new WeightedJudge([])).toThrow(/argument 'parts' expected at least one/);
    const p = fixed('p', {});
    expect(() => new WeightedJudge([{ judge: p, weight: 1 }, { judge: p, weight: 0 }])).toThrow(/'parts\[1\]\.weight' expected a finite number > 0, received 0/);
    expect(() => new WeightedJudge([{ judge: p, weight: Number.NaN }])).toThrow(/received NaN/);
  });

  it('refuses an infinite weight and one that is not a number', () => {
    const p = fixed('p', {});
    expect(() => new WeightedJudge([{ judge: p, weight: Number.POSITIVE_INFINITY }])).toThrow(/'parts\[0\]\.weight' expected a finite number > 0, received Infinity/);
    expect(() => new WeightedJudge([{ judge: p, weight: '2' as unknown as number }])).toThrow(/'parts\[0\]\.weight' expected a finite number > 0, received 2/);
  });
});
