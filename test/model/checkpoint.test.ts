import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { checkpointTensors, loadCheckpoint, modelFromCheckpoint, restoreOptimizer, saveCheckpoint } from '../../src/model/checkpoint.js';
import { MotModel } from '../../src/model/model.js';
import { loadSafetensors, parse, serialize } from '../../src/model/safetensors.js';
import { Tensor } from '../../src/native/tensor.js';
import { AdamW } from '../../src/train/optimizer.js';
import { editAndUnderstanding, microConfig } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function trainSteps(model: MotModel, opt: AdamW, steps: number, seed0: number): Promise<number[]> {
  const cfg = model.config;
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    model.zeroGrad();
    // the batch depends on the global step only, as a resumable data loader's would
    const r = await model.forward(editAndUnderstanding(cfg, seed0 + opt.step));
    losses.push(r.loss);
    await model.backward();
    await opt.update();
  }
  return losses;
}

describe('checkpoints', () => {
  it('safetensors: serialize -> parse -> serialize is byte-identical; the header is 8-aligned', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const bytes = serialize(
      [
        { name: 'x', dtype: 'F32', shape: [2, 3], data: new Uint8Array(a.buffer) },
        { name: 'y', dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) },
      ],
      { k: 'v' },
    );
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const p = parse(bytes);
    expect(p.metadata).toEqual({ k: 'v' });
    expect(Array.from(new Float32Array(p.tensors[0].data.slice().buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Buffer.from(serialize(p.tensors, p.metadata)).equals(Buffer.from(bytes))).toBe(true);
    expect(() => parse(bytes.subarray(0, 4))).toThrow(/too short/);
    const broken = bytes.slice();
    broken[8] = 0x78; // corrupt the JSON
    expect(() => parse(broken, 'f')).toThrow(/safetensors: f has an unreadable JSON header/);
  });

  it('load -> save gives the same bytes (weights, optimizer, step, state, tokenizer)', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1 });
    using opt = new AdamW(model, { lr: 1e-3 });
    await trainSteps(model, opt, 2, 0);
    const p1 = join(dir, 'a.safetensors');
    saveCheckpoint(p1, model, { optimizer: opt, step: opt.step, state: { cursor: 17 }, tokenizer: { words: ['a', 'b'] } });
    const ck = loadCheckpoint(p1);
    expect(ck.step).toBe(2);
    expect(ck.state).toEqual({ cursor: 17 });
    expect(ck.tokenizer).toEqual({ words: ['a', 'b'] });
    using m2 = modelFromCheckpoint(ck);
    using o2 = new AdamW(m2, ck.optimizer!.cfg);
    restoreOptimizer(o2, ck);
    const p2 = join(dir, 'b.safetensors');
    saveCheckpoint(p2, m2, { optimizer: o2, step: ck.step, state: ck.state, tokenizer: ck.tokenizer });
    expect(readFileSync(p2).equals(readFileSync(p1))).toBe(true);
    // and the raw tensor list round-trips too
    const { tensors, metadata } = checkpointTensors(m2, { optimizer: o2, step: ck.step, state: ck.state, tokenizer: ck.tokenizer });
    expect(tensors.length).toBe(model.layout.length * 3);
    expect(metadata.format).toBe('metacot-checkpoint-v1');
  });

  it('every tensor and state field a resume needs round-trips: weights, AdamW m, v, step and config, EMA, step, state, tokenizer', async () => {
    const cfg = microConfig();
    using model = MotModel.create(cfg, { seed: 1 });
    using opt = new AdamW(model, { lr: 1e-3, beta2: 0.99, maxGradNorm: 0.5 });
    await trainSteps(model, opt, 3, 0);
    const ema = model.params.map((p, i) => {
      const t = Tensor.from(p.toFloat32Array().map((x) => x * 0.5 + i), p.shape) as Tensor<'f32'>;
      return t;
    });
    const state = { seed: 7, data: { variant: 'meta', categories: 'full' }, sft: { gradAccum: 2 } };
    const p = join(dir, 'all.safetensors');
    saveCheckpoint(p, model, { optimizer: opt, ema, step: 3, state, tokenizer: { words: ['x'] } });
    const ck = loadCheckpoint(p);
    for (const t of ema) t.dispose();
    expect(ck.step).toBe(3);
    expect(ck.state).toEqual(state);
    expect(ck.tokenizer).toEqual({ words: ['x'] });
    expect(ck.config).toEqual(cfg);
    expect(ck.optimizer!.step).toBe(3);
    expect(ck.optimizer!.cfg).toEqual(opt.cfg);
    const groups = { params: ck.params, m: ck.optimizer!.m, v: ck.optimizer!.v, ema: ck.ema! };
    const live = { params: model.params, m: opt.m, v: opt.v, ema: null };
    for (const [g, map] of Object.entries(groups)) {
      expect([...map.keys()], g).toEqual(model.layout.map((s) => s.name));
      model.layout.forEach((s, i) => {
        const want = g === 'ema' ? model.params[i].toFloat32Array().map((x) => x * 0.5 + i) : live[g as 'params' | 'm' | 'v'][i].toFloat32Array();
        expect(map.get(s.name), `${g} ${s.name}`).toEqual(want);
      });
    }
    // the moments are not the weights (a swapped or duplicated group would not pass)
    expect(ck.optimizer!.m.get('embed.weight')).not.toEqual(ck.optimizer!.v.get('embed.weight'));
  });

  it('a run stopped and resumed from a checkpoint continues with exactly the same losses', async () => {
    const cfg = microConfig();
    // uninterrupted: 6 steps
    const full = await (async () => {
      using model = MotModel.create(cfg, { seed: 4 });
      using opt = new AdamW(model, { lr: 2e-3, maxGradNorm: 0.5 });
      return await trainSteps(model, opt, 6, 100);
    })();
    // interrupted after 3, resumed in new objects from the file
    const p = join(dir, 'resume.safetensors');
    const first = await (async () => {
      using model = MotModel.create(cfg, { seed: 4 });
      using opt = new AdamW(model, { lr: 2e-3, maxGradNorm: 0.5 });
      const l = await trainSteps(model, opt, 3, 100);
      saveCheckpoint(p, model, { optimizer: opt, step: opt.step });
      return l;
    })();
    const ck = loadCheckpoint(p);
    using model = modelFromCheckpoint(ck);
    using opt = new AdamW(model, ck.optimizer!.cfg);
    restoreOptimizer(opt, ck);
    const rest = await trainSteps(model, opt, 3, 100);
    expect([...first, ...rest]).toEqual(full);
  });

  it('bad checkpoints give clear errors and an interrupted write leaves the old file', () => {
    const p = join(dir, 'bad.safetensors');
    writeFileSync(p, Buffer.from('not a checkpoint at all'));
    expect(() => loadCheckpoint(p)).toThrow(/safetensors: '.*bad.safetensors' header length/);
    expect(() => loadCheckpoint(join(dir, 'missing.safetensors'))).toThrow(/cannot read/);
    const other = join(dir, 'other.safetensors');
    writeFileSync(other, serialize([], { format: 'something-else' }));
    expect(() => loadCheckpoint(other)).toThrow('expected format metacot-checkpoint-v1, received "something-else"');
    expect(loadSafetensors(other).tensors).toEqual([]);
  });
});
