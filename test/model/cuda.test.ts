// The MoT model on the CUDA backend against the CPU one: the same weights and batch give the same
// losses, gradients, logits and velocities (bf16 tensor-core matmuls and attention: norm-relative
// tolerances), the same seed gives the same initial weights, KV-cached inference matches, and a few
// AdamW steps on the GPU overfit a batch. Skipped, with the reason, where no CUDA device is usable.
import { describe, expect, it } from 'vitest';

import { relNorm } from '../../src/check/parity.js';
import { sliceBatch } from '../../src/model/batch.js';
import type { ModelConfig } from '../../src/model/config.js';
import { KvCache, MotModel } from '../../src/model/model.js';
import { loadBackend } from '../../src/native/loader.js';
import { AdamW } from '../../src/train/optimizer.js';
import { buildBatch, editAndUnderstanding, microConfig, randomizeParams } from './fixtures.js';

const backend = loadBackend();
const onCuda = backend.device === 'cuda';

// micro (hd 8: the SIMT attention path) and a small one on the tensor-core path (hd 64)
const configs: [string, ModelConfig][] = [
  ['micro, hd 8', microConfig({ layers: 2 })],
  ['hd 64', microConfig({ layers: 2, hidden: 128, heads: 4, kvHeads: 2, headDim: 64, mlp: 192 })],
];

describe.skipIf(!onCuda)(`MoT model on CUDA vs CPU${onCuda ? ` (${backend.info.cuda.device})` : ` (skipped: ${backend.fallbackReasons.join('; ')})`}`, () => {
  it('the same seed gives the same initial weights on both devices', () => {
    const cfg = configs[1][1];
    using a = MotModel.create(cfg, { seed: 5, grads: false });
    using b = MotModel.create(cfg, { seed: 5, grads: false, device: 'cuda' });
    expect(b.device).toBe('cuda');
    a.params.forEach((p, i) => expect(relNorm(b.params[i].download() as Float32Array, p.download() as Float32Array), a.layout[i].name).toBeLessThan(1e-6));
  });

  for (const [label, cfg] of configs) {
    it(`${label}: forward + backward: losses, logits, velocities and every gradient`, async () => {
      using cpu = MotModel.create(cfg, { seed: 2 });
      randomizeParams(cpu, 3);
      using gpu = cpu.copyTo('cuda', { grads: true });
      const batch = editAndUnderstanding(cfg, 7);
      const a = await cpu.forward(batch, { logits: true, velocities: true });
      const b = await gpu.forward(batch, { logits: true, velocities: true });
      expect(Math.abs(b.ce - a.ce) / a.ce).toBeLessThan(2e-2);
      expect(Math.abs(b.mse - a.mse) / a.mse).toBeLessThan(2e-2);
      expect(relNorm(b.logits!, a.logits!)).toBeLessThan(2e-2);
      expect(relNorm(b.velocities!, a.velocities!)).toBeLessThan(3e-2);
      await cpu.backward();
      await gpu.backward();
      cpu.grads!.forEach((g, i) => {
        const ref = g.download() as Float32Array;
        const got = gpu.grads![i].download() as Float32Array;
        expect(got.every(Number.isFinite), `${cpu.layout[i].name}: finite`).toBe(true);
        if (Math.hypot(...ref) > 1e-6) expect(relNorm(got, ref), cpu.layout[i].name).toBeLessThan(6e-2);
      });
    });
  }

  it('KV-cached decoding and denoising match the CPU model', async () => {
    const cfg = configs[1][1];
    const full = buildBatch(
      cfg,
      [
        { mode: 1, kind: 2, expert: 1, len: 6, sample: 0 },
        { mode: 1, kind: 1, expert: 0, len: 5, sample: 0 },
        { mode: 0, kind: 0, expert: 0, len: 11, sample: 0, ce: true },
        { mode: 2, kind: 3, expert: 1, len: 6, sample: 0, mse: true },
      ],
      21,
    );
    using cpu = MotModel.create(cfg, { seed: 2, grads: false });
    randomizeParams(cpu, 4);
    using gpu = cpu.copyTo('cuda');
    for (const m of [cpu, gpu]) expect(m.device).toBe(m === cpu ? 'cpu' : 'cuda');
    using ca = new KvCache();
    using cb = new KvCache();
    const slice = (s: number, e: number) => sliceBatch(full, s, e, cfg.vitPatchDim, cfg.latentChannels);
    const pa = await cpu.infer(ca, slice(0, 15), { write: true, lastLogits: true });
    const pb = await gpu.infer(cb, slice(0, 15), { write: true, lastLogits: true });
    expect(relNorm(pb.lastLogits!, pa.lastLogits!)).toBeLessThan(2e-2);
    for (let i = 15; i < 22; i++) {
      const ra = await cpu.infer(ca, slice(i, i + 1), { write: true, extendLast: true, lastLogits: true });
      const rb = await gpu.infer(cb, slice(i, i + 1), { write: true, extendLast: true, lastLogits: true });
      expect(relNorm(rb.lastLogits!, ra.lastLogits!)).toBeLessThan(3e-2);
    }
    using fork = cb.clone();
    const da = await cpu.infer(ca, slice(22, 28), { velocities: true });
    const db = await gpu.infer(fork, slice(22, 28), { velocities: true });
    expect(relNorm(db.velocities!, da.velocities!)).toBeLessThan(3e-2);
  });

  it('a few AdamW steps on the GPU overfit one batch', async () => {
    const cfg = configs[1][1];
    using model = MotModel.create(cfg, { seed: 1, device: 'cuda' });
    using opt = new AdamW(model, { lr: 3e-3 });
    const batch = editAndUnderstanding(cfg, 3);
    let first = 0;
    let last = 0;
    for (let s = 0; s < 60; s++) {
      model.zeroGrad();
      const r = await model.forward(batch);
      await model.backward();
      await opt.update();
      if (s === 0) first = r.loss;
      last = r.loss;
    }
    expect(last).toBeLessThan(0.3 * first);
  });
});

describe.skipIf(onCuda)('asking for CUDA where it is not usable', () => {
  it('MotModel.create names the option, what is possible here and why', () => {
    expect(() => MotModel.create(microConfig(), { device: 'cuda' })).toThrow(
      /MotModel\.create: option 'device' expected 'cpu' or 'auto' here \(CUDA is not usable: .+\), received 'cuda'/,
    );
    using m = MotModel.create(microConfig(), { device: 'auto', grads: false });
    expect(m.device).toBe('cpu');
  });
});

describe('copyTo', () => {
  it('copies the weights (same losses), and the copy is independent of the original', async () => {
    const cfg = microConfig();
    using a = MotModel.create(cfg, { seed: 4 });
    randomizeParams(a, 5);
    using b = a.copyTo('cpu', { grads: true });
    expect(b.device).toBe('cpu');
    expect(b.grads).not.toBeNull();
    const batch = editAndUnderstanding(cfg, 2);
    const ra = await a.forward(batch);
    const rb = await b.forward(batch);
    expect(rb.loss).toBe(ra.loss);
    b.params[0].upload(new Float32Array(b.params[0].numel));
    expect(relNorm(a.params[0].download() as Float32Array, b.params[0].download() as Float32Array)).toBeGreaterThan(0);
    using c = a.copyTo('cpu');
    expect(c.grads).toBeNull();
  });
});
