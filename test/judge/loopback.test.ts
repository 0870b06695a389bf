// End to end on this machine: world edits labelled exactly (degradations), the scene judges and a
// VLM judge over the loopback server calibrated against them, the gate, and `judge score` outputs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cotForEdit } from '../../src/cot/build.js';
import { EndpointClient } from '../../src/endpoint/client.js';
import { requireCalibrated } from '../../src/judge/calibration.js';
import { degrade, degradeEditor } from '../../src/judge/editors.js';
import { LoopbackVlm } from '../../src/judge/loopback.js';
import { SceneJudge } from '../../src/judge/scene.js';
import { calibrate, labelsFromWorld, scoreManifest, worldScenes } from '../../src/judge/run.js';
import { VlmJudge } from '../../src/judge/vlm.js';
import { generateDataset } from '../../src/world/dataset.js';
import { createImage, decodeImage } from '../../src/world/image.js';
import { readWorldManifest } from '../../src/world/manifest.js';
import { renderScene } from '../../src/world/render.js';
import { Rng } from '../../src/world/rng.js';
import { scoreEdit } from '../../src/world/score.js';

let dir: string;
let world: string;
let vlm: LoopbackVlm;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metacot-loop-'));
  world = join(dir, 'world');
  await generateDataset({ out: world, n: 4, categories: ['color_alter', 'subject_remove', 'background_change', 'subject_add'], seed: 5, qaPerSample: 0, cotFor: (e) => cotForEdit(e, 'meta') });
  const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
  vlm = new LoopbackVlm(await Promise.all(lines.map(async (l) => ({ source: await decodeImage(join(world, l.source)), sourceScene: l.world.sourceScene, targetScene: l.world.targetScene }))), { noise: 0.7, seed: 3 });
  url = await vlm.listen();
}, 60_000);
afterAll(async () => {
  await vlm.close();
});

describe('degradations', () => {
  it('blend 0 is the target, blend 1 the source, noise 0 the target; noise grows with a', () => {
    const s = createImage(4, 4);
    s.data.fill(10);
    const t = createImage(4, 4);
    t.data.fill(200);
    const rng = new Rng(1);
    expect(degrade(s, t, 'target', 0.9, rng)).toBe(t);
    expect(degrade(s, t, 'source', 0.1, rng)).toBe(s);
    expect([...degrade(s, t, 'blend', 0, rng).data]).toEqual([...t.data]);
    expect([...degrade(s, t, 'blend', 1, rng).data]).toEqual([...s.data]);
    expect(degrade(s, t, 'blend', 0.25, rng).data[0]).toBe(Math.round(0.75 * 200 + 0.25 * 10));
    expect([...degrade(s, t, 'noise', 0, rng).data]).toEqual([...t.data]);
    const dev = (a: number) => degrade(s, t, 'noise', a, new Rng(2)).data.reduce((acc, v) => acc + Math.abs(v - 200), 0);
    expect(dev(0.1)).toBeLessThan(dev(0.5));
  });
});

describe('judges end to end over world edits', () => {
  it('labels spread over the scale and are the exact gt scores; scene judges calibrate perfectly; the loopback VLM passes the gate', async () => {
    const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
    const csv = join(dir, 'labels', 'labels.csv');
    const rows = await labelsFromWorld(world, csv, degradeEditor(new Map(lines.map((l) => [l.id, l])), 1));
    expect(rows).toHaveLength(lines.length);
    const labels = rows.map((r) => r.label);
    expect(Math.min(...labels)).toBeLessThan(3);
    expect(Math.max(...labels)).toBe(10);
    // each label is the exact score of the written picture
    const r0 = rows[3];
    const l0 = lines.find((l) => l.id === r0.id)!;
    const img = await decodeImage(join(dir, 'labels', r0.edited));
    expect(r0.label).toBeCloseTo(scoreEdit(img, l0.world.sourceScene, l0.world.targetScene).overall, 10);

    const scenes = await worldScenes(world);
    const records = join(dir, 'records');
    const root = join(dir, 'labels');
    for (const kind of ['gt', 'cec'] as const) {
      const out = await calibrate(new SceneJudge(kind), rows, root, { labelsFile: csv, recordsDir: records, outDir: root, scenes });
      // the line's own Meta-CoT implies the target: cec agrees with gt exactly
      expect(out.record).toMatchObject({ n: rows.length, failures: 0, passed: true, mae: expect.closeTo(0, 9), pearson: expect.closeTo(1, 9) });
      expect(readFileSync(out.html, 'utf8')).toContain('<svg');
    }
    const client = new EndpointClient({ endpoint: url, model: 'loopback', concurrency: 16 });
    for (const kind of ['viescore', 'cec'] as const) {
      const j = new VlmJudge(client, kind, { cacheDir: join(dir, 'cache') });
      expect(() => requireCalibrated(j.identity, records)).toThrow(/is not calibrated: there is no calibration record/);
      const out = await calibrate(j, rows, root, { labelsFile: csv, recordsDir: records, outDir: root });
      expect(out.record.failures).toBe(0);
      expect(out.record.pearson).toBeGreaterThan(0.9);
      expect(out.record.mae).toBeLessThan(1.5);
      expect(requireCalibrated(j.identity, records).record!.n).toBe(rows.length);
    }
    expect(client.stats.maxInFlight).toBeGreaterThan(1);
    expect(client.stats.maxInFlight).toBeLessThanOrEqual(16);
  }, 120_000);

  it('loopback without noise answers the exact scores; an image it does not know gets an unreadable answer', async () => {
    const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
    const l = lines[0];
    const quiet = new LoopbackVlm([{ source: await decodeImage(join(world, l.source)), sourceScene: l.world.sourceScene, targetScene: l.world.targetScene }], { noise: 0 });
    const u = await quiet.listen();
    try {
      const target = renderScene(l.world.targetScene).image;
      const source = await decodeImage(join(world, l.source));
      const j = new VlmJudge(new EndpointClient({ endpoint: u, model: 'q' }), 'cec', { logprobs: false });
      const [v] = await j.score([{ id: 'a', source, edited: target, instruction: l.instruction, cot: l.cot }]);
      expect(v).toMatchObject({ ok: true, overall: 10, scores: { task: 10, target: 10 } });
      const stranger = createImage(source.width, source.height);
      const [f] = await j.score([{ id: 'b', source: stranger, edited: target, instruction: l.instruction, cot: l.cot }]);
      expect(f).toMatchObject({ ok: false, failure: { kind: 'unparseable' } });
      expect(quiet.stats.unknownImages).toBeGreaterThan(0);
      // with log-probabilities the score is the expectation of a Gaussian around the exact value
      const half = await new VlmJudge(new EndpointClient({ endpoint: u, model: 'q' }), 'viescore').score([{ id: 'c', source, edited: source, instruction: l.instruction }]);
      const exact = scoreEdit(source, l.world.sourceScene, l.world.targetScene);
      expect(half[0].scores!.ins).toBeCloseTo(exact.ins, 0);
      expect(Number.isInteger(half[0].scores!.ins)).toBe(false);
    } finally {
      await quiet.close();
    }
  });

  it('judge score writes verdicts in manifest order and a summary with per-category means', async () => {
    const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
    const out = join(dir, 'score');
    const done: number[] = [];
    // edited = the target picture, except where the line has none (one line's image is missing)
    const s = await scoreManifest(new SceneJudge('gt'), join(world, 'manifest.jsonl'), out, {
      edited: (line) => (line.id === lines[1].id ? join(dir, 'nope.png') : join(world, line.target!)),
      onItem: (d) => done.push(d),
    });
    expect(done).toEqual(lines.map((_, i) => i + 1));
    expect(s).toMatchObject({ lines: lines.length, scored: lines.length - 1, failures: { 'missing-input': 1 }, overall: 10 });
    expect(Object.keys(s.categories).sort()).toEqual(['background_change', 'color_alter', 'subject_add', 'subject_remove']);
    const verdicts = readFileSync(join(out, 'verdicts.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
    expect(verdicts.map((v) => v.id)).toEqual(lines.map((l) => l.id));
    expect(verdicts[1]).toMatchObject({ ok: false, failure: { kind: 'missing-input' } });
    expect(verdicts[1].failure.message).toMatch(/cannot read an image/);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(s)));
  });
});
