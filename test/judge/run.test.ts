// What the judge commands run, piece by piece: chunked judging with the right running count, the
// score summary (means per sub-score and per category, failures by kind), and manifest lines to items.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { cotForEdit } from '../../src/cot/build.js';
import { degradeEditor } from '../../src/judge/editors.js';
import { itemsFromLines } from '../../src/judge/items.js';
import { calibrate, judgeAll, labelsFromWorld, scoreManifest, summarize, worldScenes } from '../../src/judge/run.js';
import { SceneJudge } from '../../src/judge/scene.js';
import type { Judge, JudgeItem, Verdict } from '../../src/judge/types.js';
import { generateDataset } from '../../src/world/dataset.js';
import { createImage, encodePng } from '../../src/world/image.js';
import { type WorldManifestLine, readWorldManifest } from '../../src/world/manifest.js';

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

describe('the judge commands over a world data set', () => {
  let dir: string;
  let world: string;
  let lines: WorldManifestLine[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metacot-run-'));
    world = join(dir, 'world');
    // half the seeds in eval, so both splits have lines
    await generateDataset({ out: world, n: 8, categories: ['color_alter', 'subject_remove'], seed: 6, qaPerSample: 0, evalFraction: 0.5, cotFor: (e) => cotForEdit(e, 'meta') });
    lines = await readWorldManifest(join(world, 'manifest.jsonl'));
  }, 60_000);
  const editor = () => degradeEditor(new Map(lines.map((l) => [l.id, l])), 2);

  it('labelsFromWorld keeps one split when asked, and the first `limit` lines', async () => {
    const evalIds = lines.filter((l) => l.split === 'eval').map((l) => l.id);
    expect(evalIds.length).toBeGreaterThan(0);
    expect(evalIds.length).toBeLessThan(lines.length);
    const onlyEval = await labelsFromWorld(world, join(dir, 'eval', 'labels.csv'), editor(), { split: 'eval' });
    expect(onlyEval.map((r) => r.id)).toEqual(evalIds);
    const two = await labelsFromWorld(world, join(dir, 'two', 'labels.csv'), editor(), { limit: 2 });
    expect(two.map((r) => r.id)).toEqual(lines.slice(0, 2).map((l) => l.id));
  });

  it('calibrate writes the record and the pairs to calibration-<name>.json', async () => {
    const csv = join(dir, 'cal', 'labels.csv');
    const rows = await labelsFromWorld(world, csv, editor());
    const root = join(dir, 'cal');
    const out = await calibrate(new SceneJudge('gt'), rows, root, { labelsFile: csv, recordsDir: join(dir, 'records'), outDir: root, scenes: await worldScenes(world) });
    const saved = JSON.parse(readFileSync(join(root, `calibration-${out.record.name}.json`), 'utf8'));
    expect(saved.record).toEqual(JSON.parse(JSON.stringify(out.record)));
    expect(saved.record.n).toBe(rows.length);
    expect(saved.pairs).toEqual(out.pairs);
    expect(saved.pairs).toHaveLength(rows.length);
  });

  it('scoreManifest runs without onItem (unusable lines included) and times itself', async () => {
    const t0 = performance.now();
    const s = await scoreManifest(new SceneJudge('gt'), join(world, 'manifest.jsonl'), join(dir, 'score'), {
      edited: (line) => (line.id === lines[0].id ? undefined : join(world, line.target!)),
    });
    const elapsed = (performance.now() - t0) / 1000;
    expect(s).toMatchObject({ lines: lines.length, scored: lines.length - 1, failures: { 'missing-input': 1 } });
    expect(s.seconds).toBeGreaterThan(0);
    expect(s.seconds).toBeLessThanOrEqual(elapsed);
    expect(s.itemsPerSecond).toBeCloseTo(lines.length / s.seconds, 6);
  });
});
