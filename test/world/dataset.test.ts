// Data sets on disk: byte-identical for the same seed, readable and exact when read back, split by
// seed, and fast enough (21 x 50 in well under a minute).

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CATEGORY_NAMES, SUBSETS } from '../../src/world/categories.js';
import { generateDataset, INFO_FILE, MANIFEST_FILE, QA_FILE } from '../../src/world/dataset.js';
import { decodeImage, imagesEqual } from '../../src/world/image.js';
import { readQa, readWorldManifest } from '../../src/world/manifest.js';
import { renderScene } from '../../src/world/render.js';
import { scoreEdit } from '../../src/world/score.js';
import { sampleSeed, splitOf } from '../../src/world/splits.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'metacot-world-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

describe('world data sets', () => {
  it('are byte-identical for the same seed: every image, the manifest, the questions, world.json', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    const opts = { n: 3, categories: CATEGORY_NAMES, seed: 1234 };
    await generateDataset({ ...opts, out: a });
    await generateDataset({ ...opts, out: b, concurrency: 1 });
    await generateDataset({ ...opts, out: c, seed: 1235 });
    const files = await listFiles(a);
    expect(files).toEqual(await listFiles(b));
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(21 * 3 * 2);
    expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
    for (const f of files) {
      expect((await readFile(join(a, f))).equals(await readFile(join(b, f))), f).toBe(true);
    }
    expect((await readFile(join(a, MANIFEST_FILE), 'utf8')) === (await readFile(join(c, MANIFEST_FILE), 'utf8'))).toBe(false);
  });

  it('read back exactly: images decode to the render of their scenes, targets score 10', async () => {
    const dir = await tempDir();
    const summary = await generateDataset({ out: dir, n: 2, categories: CATEGORY_NAMES, seed: 5, width: 48, height: 40 });
    expect(summary.samples).toBe(42);
    const lines = await readWorldManifest(join(dir, MANIFEST_FILE));
    expect(lines).toHaveLength(42);
    expect(new Set(lines.map((l) => l.id)).size).toBe(42);
    for (const l of lines) {
      const src = await decodeImage(join(dir, l.source));
      const tgt = await decodeImage(join(dir, l.target));
      expect([src.width, src.height]).toEqual([48, 40]);
      expect(imagesEqual(src, renderScene(l.world.sourceScene, { width: 48, height: 40 }).image)).toBe(true);
      expect(imagesEqual(tgt, renderScene(l.world.targetScene, { width: 48, height: 40 }).image)).toBe(true);
      expect(scoreEdit(tgt, l.world.sourceScene, l.world.targetScene).overall).toBe(10);
      expect(l.split).toBe(splitOf(l.world.seed, 0.1));
    }
    const qa = await readQa(join(dir, QA_FILE));
    expect(qa).toHaveLength(summary.questions);
    expect(qa.length).toBeGreaterThanOrEqual(42);
    const ids = new Set(lines.map((l) => l.id));
    for (const q of qa) expect(ids.has(q.sample)).toBe(true);
    const info = JSON.parse(await readFile(join(dir, INFO_FILE), 'utf8'));
    expect(info).toMatchObject({ version: 1, seed: 5, n: 2, width: 48, height: 40, samples: 42 });
  });

  it('split by seed: a sample belongs to one split whatever run made it, and --split keeps one', async () => {
    const [all, evalOnly] = [await tempDir(), await tempDir()];
    const categories = SUBSETS['3meta'];
    await generateDataset({ out: all, n: 30, categories, seed: 9, evalFraction: 0.5, qaPerSample: 0 });
    await generateDataset({ out: evalOnly, n: 5, categories, seed: 9, evalFraction: 0.5, split: 'eval', qaPerSample: 0 });
    const allLines = (await readFile(join(all, MANIFEST_FILE), 'utf8')).trim().split('\n');
    const evalLines = (await readFile(join(evalOnly, MANIFEST_FILE), 'utf8')).trim().split('\n');
    expect(evalLines).toHaveLength(15);
    for (const line of evalLines) {
      expect(JSON.parse(line).split).toBe('eval');
      // The same sample, byte for byte, as in the run that kept both splits.
      expect(allLines).toContain(line);
    }
    const parsed = await readWorldManifest(join(all, MANIFEST_FILE));
    const evals = parsed.filter((l) => l.split === 'eval').length;
    expect(evals).toBeGreaterThan(25);
    expect(evals).toBeLessThan(65);
    expect(await readWorldManifest(join(all, MANIFEST_FILE), { split: 'train' })).toHaveLength(90 - evals);
    // The split is a function of the sample seed alone.
    expect(splitOf(sampleSeed(9, 'subject_add', 3), 0.5)).toBe(parsed.find((l) => l.id === 'subject_add-00003')!.split);
  });

  it('writes 21 x 50 samples in well under a minute', async () => {
    const dir = await tempDir();
    let calls = 0;
    const t0 = performance.now();
    const s = await generateDataset({ out: dir, n: 50, categories: CATEGORY_NAMES, seed: 0, onProgress: () => calls++ });
    const seconds = (performance.now() - t0) / 1000;
    expect(s.samples).toBe(1050);
    expect(calls).toBe(1050);
    expect((await listFiles(join(dir, 'images'))).length).toBe(2100);
    expect(seconds).toBeLessThan(60);
    console.log(`world generate 21 x 50: ${seconds.toFixed(2)} s, ${s.meanAttempts.toFixed(3)} scenes per edit`);
  });

  it('names the bad option', async () => {
    const out = await tempDir();
    await expect(generateDataset({ out, n: -1, categories: ['color_alter'], seed: 0 })).rejects.toThrow(/n must be a non-negative integer, got -1/);
    await expect(generateDataset({ out, n: 1, categories: ['nope' as 'color_alter'], seed: 0 })).rejects.toThrow(/unknown category "nope"/);
    await expect(generateDataset({ out, n: 1, categories: ['color_alter'], seed: 0, split: 'eval', evalFraction: 0 })).rejects.toThrow(/split eval is empty/);
    await expect(generateDataset({ out, n: 1, categories: ['color_alter'], seed: 0.5 })).rejects.toThrow(/seed must be an integer, got 0.5/);
  });
});
