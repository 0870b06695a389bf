// What the judge commands run, piece by piece: chunked judging with the right running count, the
// score summary (means per sub-score and per category, failures by kind), and manifest lines to items.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { itemsFromLines } from '../../src/judge/items.js';
import { judgeAll, summarize } from '../../src/judge/run.js';
import type { Judge, JudgeItem, Verdict } from '../../src/judge/types.js';
import { createImage, encodePng } from '../../src/world/image.js';

const img = createImage(2, 2);
const counting = (): Judge & { batches: number[] } => {
  const batches: number[] = [];
  return {
    batches,
    identity: { kind: 'count', version: '1' },
    score: async (items, opts) =>
      items.map((it, i) => {
        if (i === 0) batches.push(items.length);
        const v: Verdict = { id: it.id, ok: true, overall: Number(it.id), reasons: [] };
        opts?.onItem?.(i + 1, v);
        return v;
      }),
  };
};

describe('judgeAll', () => {
  it('judges in chunks of 64 and reports the running count over all of them', async () => {
    const j = counting();
    const items: JudgeItem[] = Array.from({ length: 150 }, (_, i) => ({ id: String(i), source: img, edited: img, instruction: '' }));
    const seen: number[] = [];
    const out = await judgeAll(j, items, (d) => seen.push(d));
    expect(j.batches).toEqual([64, 64, 22]);
    expect(seen).toEqual(items.map((_, i) => i + 1));
    expect(out.map((v) => v.id)).toEqual(items.map((i) => i.id));
    expect(await judgeAll(j, [])).toEqual([]);
  });
});

describe('summarize', () => {
  it('means over the scored items, per sub-score and per category; failures by kind; CoT errors', () => {
    const vs: Verdict[] = [
      { id: 'a', ok: true, overall: 8, scores: { x: 8, y: 6 }, reasons: [] },
      { id: 'b', ok: true, overall: 2, scores: { x: 2 }, reasons: [], cotError: 'bad' },
      { id: 'c', ok: true, overall: 5, scores: { x: 5, y: 1 }, reasons: [] },
      { id: 'd', ok: false, reasons: [], failure: { kind: 'timeout', message: '' } },
      { id: 'e', ok: false, reasons: [], failure: { kind: 'timeout', message: '' } },
      { id: 'f', ok: false, reasons: [], failure: { kind: 'unparseable', message: '' } },
    ];
    const cat: Record<string, string> = { a: 'red', b: 'red', c: 'blue' };
    const s = summarize({ kind: 'k', version: '1' }, vs, (id) => cat[id], 2);
    expect(s).toEqual({
      judge: { kind: 'k', version: '1' },
      name: 'k@1',
      lines: 6,
      scored: 3,
      failures: { timeout: 2, unparseable: 1 },
      cotErrors: 1,
      overall: 5,
      scores: { x: 5, y: 3.5 },
      categories: { red: { n: 2, overall: 5 }, blue: { n: 1, overall: 5 } },
      seconds: 2,
      itemsPerSecond: 3,
    });
    expect(summarize({ kind: 'k', version: '1' }, vs.slice(0, 1), () => undefined, 1).categories).toEqual({ '(none)': { n: 1, overall: 8 } });
  });
});

describe('itemsFromLines', () => {
  it('reads the images relative to the manifest (or absolute), and turns unusable lines into failures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metacot-items-'));
    const png = await encodePng(img);
    writeFileSync(join(dir, 's.png'), png);
    writeFileSync(join(dir, 'e.png'), png);
    const world = { sourceScene: { tag: 'S' }, targetScene: { tag: 'T' } } as never;
    const lines = [
      { id: 'ok', source: 's.png', edited: join(dir, 'e.png'), instruction: 'do', category: 'c1', cot: 'the cot' },
      { id: 'no-edit', source: 's.png', instruction: 'do', category: 'c1' },
      { id: 'bad-path', source: 's.png', edited: 'missing.png', instruction: 'do', category: 'c2' },
      { id: 'w', source: 's.png', edited: 'e.png', instruction: 'do', category: 'c3', world },
    ];
    const r = await itemsFromLines(lines as never, dir);
    expect(r.order).toEqual(['ok', 'no-edit', 'bad-path', 'w']);
    expect(r.items.map((i) => [i.id, i.instruction, i.cot, i.category, i.source.width, i.edited.height])).toEqual([
      ['ok', 'do', 'the cot', 'c1', 2, 2],
      ['w', 'do', undefined, 'c3', 2, 2],
    ]);
    expect(r.items[1]).toMatchObject({ sourceScene: { tag: 'S' }, targetScene: { tag: 'T' } });
    expect(r.items[0].sourceScene).toBeUndefined();
    expect(r.unusable.map((v) => [v.id, v.ok, v.failure!.kind])).toEqual([['no-edit', false, 'missing-input'], ['bad-path', false, 'missing-input']]);
    expect(r.unusable[0].failure!.message).toBe(`line 2 ('no-edit') has no edited image (field "edited")`);
    expect(r.unusable[1].failure!.message).toMatch(/^line 3 \('bad-path'\): cannot read an image: /);
    const other = await itemsFromLines(lines.slice(1, 2) as never, dir, { edited: (l, id) => (id === 'no-edit' ? 'e.png' : undefined) });
    expect(other.items.map((i) => i.id)).toEqual(['no-edit']);
  });
});
