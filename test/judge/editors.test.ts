// The label editors: the model editor is think-then-edit seeded per line; the degrade editor picks a
// spoiling from a hash of (seed, id) and keeps the line's Meta-CoT.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { cotForEdit } from '../../src/cot/build.js';
import { editOfLine } from '../../src/cot/check.js';
import { sampleContext } from '../../src/data/samples.js';
import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { degrade, degradeEditor, modelEditor } from '../../src/judge/editors.js';
import { parseModelConfig } from '../../src/model/config.js';
import { MotModel } from '../../src/model/model.js';
import { editImage } from '../../src/sample/edit.js';
import { createImage, imagesEqual } from '../../src/world/image.js';
import type { WorldManifestLine } from '../../src/world/manifest.js';
import { renderScene } from '../../src/world/render.js';
import { Rng, hashSeed } from '../../src/world/rng.js';
import { generateDataset } from '../../src/world/dataset.js';
import { readWorldManifest } from '../../src/world/manifest.js';
import { rng } from '../helpers.js';
import { randomizeParams } from '../model/fixtures.js';

describe('modelEditor', () => {
  it('is editImage in think mode with the seed hashed from (seed, line id)', async () => {
    const tok = buildWorldTokenizer();
    const cfg = parseModelConfig({
      vocab: Math.ceil(tok.size / 64) * 64, hidden: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, mlp: 48, ropeTheta: 10000,
      latentChannels: 12, latentPatch: 2, vitPatchDim: 12, vitPatch: 2, maxLatentSide: 4, imageSize: 6, timestepDim: 16, tieEmbeddings: true,
    });
    const ctx = sampleContext(cfg, tok);
    using model = MotModel.create(cfg, { seed: 1, grads: false });
    randomizeParams(model, 5, { scale: 0.4 });
    const source = createImage(6, 6);
    const r = rng(3);
    for (let i = 0; i < source.data.length; i++) source.data[i] = Math.floor(r() * 256);
    const opts = { steps: 2, maxCotTokens: 6, cfgText: 1, cfgImg: 1 };
    const edit = modelEditor(model, ctx, opts, 7);
    const line = { id: 'line-a', source, instruction: 'Make it red.', sourceScene: null as never, targetScene: null as never };
    const got = await edit(line);
    const want = await editImage(model, ctx, source, 'Make it red.', { ...opts, think: true, seed: hashSeed('label', 7, 'line-a') >>> 0 });
    expect(imagesEqual(got.image, want.image)).toBe(true);
    expect(got.cot).toBe(want.cot);
    const other = await edit({ ...line, id: 'line-b' });
    expect(imagesEqual(other.image, got.image)).toBe(false);
  });
});

describe('degradeEditor', () => {
  const lines = new Map<string, WorldManifestLine>();
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metacot-editors-'));
    await generateDataset({ out: dir, n: 24, categories: ['color_alter'], seed: 4, qaPerSample: 0 });
    (await readWorldManifest(join(dir, 'manifest.jsonl'))).forEach((l, i) => lines.set(`e${i}`, { ...l, id: `e${i}` }));
  });

  it('spoils the target by a seeded amount; the same (seed, id) gives the same picture', async () => {
    const kinds = new Set<string>();
    for (const seed of [1, 2]) for (const [id, l] of lines) {
      const source = renderScene(l.world.sourceScene).image;
      const target = renderScene(l.world.targetScene).image;
      const a = await degradeEditor(lines, seed)({ id, source, instruction: l.instruction, sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
      const b = await degradeEditor(lines, seed)({ id, source, instruction: l.instruction, sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
      expect(imagesEqual(a.image, b.image)).toBe(true);
      expect(a.cot).toBe(cotForEdit(editOfLine(l), 'meta'));
      kinds.add(imagesEqual(a.image, target) ? 'target' : imagesEqual(a.image, source) ? 'source' : 'other');
    }
    expect([...kinds].sort()).toEqual(['other', 'source', 'target']);
    const l = lines.get('e0')!;
    const src = renderScene(l.world.sourceScene).image;
    const one = (seed: number) => degradeEditor(lines, seed)({ id: 'e0', source: src, instruction: '', sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
    const pics = await Promise.all([1, 2, 3, 4, 5].map(one));
    expect(new Set(pics.map((p) => Buffer.from(p.image.data).toString('base64'))).size).toBeGreaterThan(1);
  });

  it('keeps a CoT the line has, and refuses an unknown id', async () => {
    const l = { ...lines.get('e1')!, cot: 'given CoT' };
    const m = new Map([['e1', l]]);
    const source = renderScene(l.world.sourceScene).image;
    expect((await degradeEditor(m)({ id: 'e1', source, instruction: '', sourceScene: l.world.sourceScene, targetScene: l.world.targetScene })).cot).toBe('given CoT');
    await expect(degradeEditor(m)({ id: 'zz', source, instruction: '', sourceScene: l.world.sourceScene, targetScene: l.world.targetScene })).rejects.toThrow(/degradeEditor: no world line 'zz'/);
  });

  it('renders the target at the size of the source it is given', async () => {
    const l = lines.get('e2')!;
    const source = renderScene(l.world.sourceScene, { width: 16, height: 16 }).image;
    let other = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { image } = await degradeEditor(lines, seed)({ id: 'e2', source, instruction: '', sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
      expect([image.width, image.height]).toEqual([16, 16]);
      if (!imagesEqual(image, source)) other++;
    }
    expect(other).toBeGreaterThan(0);
  });

  it('draws the kind and amount from Rng(hashSeed("degrade", seed, id)): kind first, then the amount, then the noise', async () => {
    // a pin of the draw: label sets made with a --seed are reproducible only while this stays the same
    const kinds = ['target', 'source', 'blend', 'blend', 'noise', 'noise'] as const;
    for (const seed of [0, 1, 2, 3]) for (const id of ['e0', 'e1', 'e2']) {
      const l = lines.get(id)!;
      const source = renderScene(l.world.sourceScene).image;
      const target = renderScene(l.world.targetScene).image;
      const r = new Rng(hashSeed('degrade', seed, id));
      const kind = r.pick(kinds);
      const want = degrade(source, target, kind, r.next(), r);
      const { image } = await degradeEditor(lines, seed)({ id, source, instruction: '', sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
      expect(imagesEqual(image, want)).toBe(true);
    }
  });
});

describe('degrade', () => {
  it('noise adds N(0, (160 a)^2) to every channel of the target, one draw per value in order, rounded and clamped', () => {
    const s = createImage(6, 6);
    s.data.fill(20);
    const t = createImage(6, 6);
    for (let i = 0; i < t.data.length; i++) t.data[i] = 60 + (i % 140);
    for (const a of [0.05, 0.5]) {
      const out = degrade(s, t, 'noise', a, new Rng(9));
      const ref = new Rng(9);
      const want = Array.from(t.data, (v) => Math.max(0, Math.min(255, Math.round(v + 160 * a * ref.gaussian()))));
      expect([...out.data]).toEqual(want);
    }
    // small a: small noise (|N(0, 8^2)| has mean about 6.4)
    const out = degrade(s, t, 'noise', 0.05, new Rng(3));
    const meanDev = out.data.reduce((acc, v, i) => acc + Math.abs(v - t.data[i]), 0) / out.data.length;
    expect(meanDev).toBeGreaterThan(2);
    expect(meanDev).toBeLessThan(10);
  });
});
