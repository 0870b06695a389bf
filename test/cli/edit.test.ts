import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { main } from '../../src/cli/main.js';
import { cotForEdit } from '../../src/cot/build.js';
import { tryParseCot } from '../../src/cot/parse.js';
import { packSamples } from '../../src/data/pack.js';
import { NO_DROPOUT, editTrainingSample, sampleContext } from '../../src/data/samples.js';
import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { parseModelConfig } from '../../src/model/config.js';
import { MotModel } from '../../src/model/model.js';
import { type BatchSource, runSft } from '../../src/train/sft.js';
import { shapeOf } from '../../src/train/world-source.js';
import { decodeImage, encodePng } from '../../src/world/image.js';
import { renderScene } from '../../src/world/render.js';
import { Rng } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-edit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metacot edit', () => {
  it('on a checkpoint: prints a CoT that parses and writes an image of the model canvas size', async () => {
    // A micro model memorises one edit (its CoT and target), so greedy decoding must reproduce a
    // well-formed CoT through the whole pipeline: checkpoint + tokenizer load, image read and resize,
    // KV-cache prefill and decoding, three-context CFG sampling, PNG write.
    const tok = buildWorldTokenizer();
    const cfg = parseModelConfig({
      vocab: Math.ceil(tok.size / 64) * 64,
      hidden: 64,
      layers: 2,
      heads: 2,
      kvHeads: 1,
      headDim: 32,
      mlp: 128,
      ropeTheta: 10000,
      latentChannels: 48,
      latentPatch: 4,
      vitPatchDim: 48,
      vitPatch: 4,
      maxLatentSide: 8,
      imageSize: 32,
      tieEmbeddings: true,
    });
    const ctx = sampleContext(cfg, tok);
    const edit = generateEdit('subject_remove', 3).edit;
    const source = renderScene(edit.source).image;
    const target = renderScene(edit.target).image;
    const cot = cotForEdit(edit, 'meta');
    const src: BatchSource = {
      batchAt(step) {
        const { sample } = editTrainingSample({ source, target, instruction: edit.instruction, cot }, ctx, new Rng(step), NO_DROPOUT);
        const batch = packSamples([sample]);
        return { batch, samples: 1, shape: shapeOf(batch) };
      },
    };
    using model = MotModel.create(cfg, { seed: 1 });
    const out = join(dir, 'run');
    const r = await runSft({
      outDir: out,
      model,
      source: src,
      quiet: true,
      tokenizer: tok.toJSON(),
      cfg: {
        steps: 160,
        gradAccum: 1,
        wCe: 1,
        wMse: 1,
        schedule: { lr: 3e-3, warmupSteps: 10, kind: 'constant', minLr: 3e-3 },
        optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
        emaDecay: 0,
        checkpointEvery: 1000,
        logEvery: 10,
      },
    });
    expect(r.metrics.at(-1)!.ce).toBeLessThan(0.05);
    // a 64x64 JPEG input: resized to the 32x32 canvas
    const big = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) big.data.set(source.data.subarray(((y >> 1) * 32 + (x >> 1)) * 3, ((y >> 1) * 32 + (x >> 1)) * 3 + 3), (y * 64 + x) * 3);
    const input = join(dir, 'in.png');
    writeFileSync(input, await encodePng(big));
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    try {
      await main(['node', 'metacot', 'edit', '--checkpoint', join(out, 'checkpoint.safetensors'), '--image', input, '--instruction', edit.instruction, '--out', join(dir, 'out.png'), '--steps', '8']);
    } finally {
      spy.mockRestore();
    }
    const cotLine = logs.find((l) => l.startsWith('CoT: '))!;
    const printed = cotLine.slice(5);
    expect(tryParseCot(printed).ok).toBe(true);
    expect(printed).toBe(cot);
    const img = await decodeImage(join(dir, 'out.png'));
    expect([img.width, img.height]).toEqual([32, 32]);

    // one picture, two instructions: two CoTs, two pictures sampled as one batch; the first (seed 0)
    // is the single edit's picture
    const logs2: string[] = [];
    const spy2 = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs2.push(a.join(' ')));
    try {
      await main(['node', 'metacot', 'edit', '--checkpoint', join(out, 'checkpoint.safetensors'), '--image', input, '--instruction', edit.instruction, 'keep everything', '--out', join(dir, 'many.png'), '--steps', '8']);
    } finally {
      spy2.mockRestore();
    }
    expect(logs2.filter((l) => /^\[[01]\] CoT: /.test(l))).toHaveLength(2);
    expect(logs2.find((l) => l.startsWith('[0] CoT: '))!.slice(9)).toBe(cot);
    expect(logs2.at(-1)).toMatch(/^wrote 2 pictures .*many-0\.png \.\. .*many-1\.png \(32x32; think/);
    const first = await decodeImage(join(dir, 'many-0.png'));
    expect(Array.from(first.data)).toEqual(Array.from(img.data));
    const second = await decodeImage(join(dir, 'many-1.png'));
    expect([second.width, second.height]).toEqual([32, 32]);
    await expect(
      main(['node', 'metacot', 'edit', '--checkpoint', join(out, 'checkpoint.safetensors'), '--image', input, input, '--instruction', 'a', 'b', 'c']),
    ).rejects.toThrow('--image, --instruction: expected one picture, one instruction, or as many of each; received 2 pictures and 3 instructions');
  });

  it('gives clear errors for unreadable inputs', async () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'not an image');
    await expect(main(['node', 'metacot', 'edit', '--checkpoint', join(dir, 'missing.safetensors'), '--image', bad, '--instruction', 'x'])).rejects.toThrow(
      "--checkpoint: no such file",
    );
  });
});
