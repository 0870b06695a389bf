// `metacot judge ...` in-process: labels from a world, calibrate, gate, score, with the VLM judge on
// the loopback server; the API key never printed.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './run-cli.js';

import { cotForEdit } from '../../src/cot/build.js';
import { LoopbackVlm } from '../../src/judge/loopback.js';
import { generateDataset } from '../../src/world/dataset.js';
import { decodeImage } from '../../src/world/image.js';
import { readWorldManifest } from '../../src/world/manifest.js';

let dir: string;
let world: string;
let vlm: LoopbackVlm;
let url: string;

const run = (...args: string[]) => runCli('judge', ...args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metacot-cli-judge-'));
  world = join(dir, 'world');
  await generateDataset({ out: world, n: 3, categories: ['color_alter', 'subject_remove', 'quantity_change'], seed: 2, qaPerSample: 0, split: 'eval', cotFor: (e) => cotForEdit(e, 'meta') });
  const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
  vlm = new LoopbackVlm(await Promise.all(lines.map(async (l) => ({ source: await decodeImage(join(world, l.source)), sourceScene: l.world.sourceScene, targetScene: l.world.targetScene }))));
  url = await vlm.listen();
}, 60_000);
afterAll(async () => {
  await vlm.close();
});

describe('metacot judge', () => {
  it('labels -> calibrate -> gate -> score, for the scene CEC judge and the VLM judge', async () => {
    const csv = join(dir, 'labels.csv');
    const records = join(dir, 'records');
    let r = await run('labels', '--from-world', world, '--out', csv, '--no-progress');
    expect(r.out).toMatch(/wrote 9 labelled samples to .*labels\.csv \(mean label \d+\.\d+; editor: degradations\)/);

    r = await run('gate', '--judge', 'cec', '--records', records);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/judge cec@score-v1 is not calibrated: there is no calibration record .*cec@score-v1\.json/);

    r = await run('calibrate', '--judge', 'cec', '--labels', csv, '--world', world, '--records', records, '--no-progress');
    expect(r.out).toMatch(/calibrated cec@score-v1 on 9 labelled samples \(0 failed\): Pearson r 1\.0000.*MAE 0\.0000.*passed/);
    expect(existsSync(join(dir, 'calibration-cec@score-v1.html'))).toBe(true);
    r = await run('gate', '--judge', 'cec', '--records', records);
    expect(r.code).toBeUndefined();
    expect(r.out).toMatch(/cec@score-v1 is calibrated: r 1\.0000, MAE 0\.0000 on 9 samples/);

    process.env.METACOT_CLI_KEY = 'sk-cli-DO-NOT-SHOW';
    try {
      const ep = ['--endpoint', url, '--model', 'loop', '--api-key-env', 'METACOT_CLI_KEY', '--cache', join(dir, 'cache'), '--no-progress'];
      r = await run('calibrate', '--judge', 'vlm', '--labels', csv, '--records', records, ...ep);
      expect(r.out).toMatch(/calibrated vlm-viescore@loop@p1 on 9 labelled samples \(0 failed\).*endpoint: 18 requests/);
      r = await run('score', '--judge', 'cec:0.5,vlm:0.5', '--manifest', join(world, 'manifest.jsonl'), '--edited', join(dir, 'edited'), '--out', join(dir, 'score'), ...ep);
      expect(r.out).toMatch(/judged 9 edits with sum@1\(0\.5xcec@score-v1\+0\.5xvlm-viescore@loop@p1\): overall \d+\.\d+ over 9 scored; failures none/);
      // every VIEScore answer came from the cache of the calibration run
      expect(r.out).toMatch(/endpoint: 0 requests .* 18 answers from the cache/);
      expect(r.out).not.toContain('DO-NOT-SHOW');
      const summary = JSON.parse(readFileSync(join(dir, 'score', 'summary.json'), 'utf8'));
      expect(summary).toMatchObject({ lines: 9, scored: 9 });
    } finally {
      delete process.env.METACOT_CLI_KEY;
    }
  }, 120_000);

  it('says what is wrong with bad arguments', async () => {
    await expect(run('score', '--judge', 'clip', '--manifest', 'x.jsonl')).rejects.toThrow(/--judge: 'clip' is not a judge/);
    await expect(run('score', '--judge', 'vlm', '--manifest', 'x.jsonl')).rejects.toThrow(/a VLM judge needs --endpoint URL and --model NAME/);
    await expect(run('score', '--judge', 'gt', '--manifest', join(dir, 'none.jsonl'))).rejects.toThrow(/--manifest: no such file/);
    await expect(run('labels', '--from-world', dir, '--out', join(dir, 'l.csv'))).rejects.toThrow(/--from-world: .* holds no manifest\.jsonl/);
    await expect(run('calibrate', '--judge', 'gt', '--labels', join(dir, 'missing.csv'))).rejects.toThrow(/--labels: cannot read/);
  });
});
