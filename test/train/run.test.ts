// One SFT run on the built-in world from a config (what `train sft` and `demo` run), at micro size.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { parseSftConfig } from '../../src/train/config.js';
import { checkpointPath, measureGemmPeak, prepare, trainOnWorld } from '../../src/train/run.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const micro = { hidden: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, mlp: 48 };

describe('trainOnWorld', () => {
  it('prepare: the world tokenizer, the preset with its vocab rounded up to 64 and the overrides, a layout context', () => {
    const p = prepare(parseSftConfig({ model: micro, timestepShift: 2 }));
    expect(p.modelConfig.vocab % 64).toBe(0);
    expect(p.modelConfig.vocab).toBeGreaterThanOrEqual(p.tokenizer.size);
    expect(p.modelConfig.vocab - p.tokenizer.size).toBeLessThan(64);
    expect(p.modelConfig).toMatchObject(micro);
    expect(p.modelConfig.imageSize).toBe(32);
    expect(p.ctx.timestepShift).toBe(2);
    expect(p.ctx.tokenizer).toBe(p.tokenizer);
    // an explicit vocab override wins over the rounding
    expect(prepare(parseSftConfig({ model: { ...micro, vocab: 4096 } })).modelConfig.vocab).toBe(4096);
  });

  it('trains a few steps, writes metrics and a resumable checkpoint with the run state and the tokenizer', async () => {
    const out = join(dir, 'a');
    const cfg = parseSftConfig({ out, model: micro, steps: 3, warmupSteps: 1, emaDecay: 0.5, data: { tokenBudget: 400, categories: 'color_alter,subject_add' }, seed: 4 });
    const lines: string[] = [];
    const r = await trainOnWorld(cfg, { quiet: true, log: (l) => lines.push(l) });
    try {
      expect(r.result.stopped).toBe('done');
      expect(r.result.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
      expect(r.peakFlops).toBeGreaterThan(1e8);
      expect(r.result.metrics.every((m) => m.mfu !== null && m.mfu > 0 && m.mfu < 1)).toBe(true);
      expect(lines.join('\n')).toMatch(/model tiny on cpu: .*M parameters \(hidden 32, 1 layers, vocab \d+\); data: meta CoT over 2 categories \+ 15% understanding; MFU against \d+ GFLOP\/s \((the GEMM measured now|the best GEMM this machine has reached)/);
      expect(checkpointPath(out)).toBe(join(out, 'checkpoint.safetensors'));
      const ck = loadCheckpoint(checkpointPath(out));
      expect(ck.step).toBe(3);
      expect(ck.state).toMatchObject({ seed: 4, preset: 'tiny', data: cfg.data, sft: { steps: 3, emaDecay: 0.5, gradAccum: 1 } });
      expect(ck.tokenizer).toEqual(r.prepared.tokenizer.toJSON());
      expect(ck.ema!.size).toBe(r.model.layout.length);
      expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);
    } finally {
      r.model.dispose();
    }
    // resume to 4 steps continues at step 4
    const more = await trainOnWorld({ ...cfg, steps: 4 }, { quiet: true, resume: true });
    more.model.dispose();
    expect(more.result.metrics.map((m) => m.step)).toEqual([4]);
    // the time budget stops a run early, checkpointed
    const timed = await trainOnWorld({ ...cfg, out: join(dir, 'timed'), steps: 50, minutes: 1e-6 }, { quiet: true });
    timed.model.dispose();
    expect(timed.result.stopped).toBe('interrupted');
    expect(timed.result.steps).toBe(1);
    expect(existsSync(checkpointPath(join(dir, 'timed')))).toBe(true);
  });

  it('measureGemmPeak: the best of its timed calls, in FLOP/s, at the given sizes', async () => {
    const peak = await measureGemmPeak('cpu', [64, 128], 3);
    // 2 n^3 FLOP in at least a microsecond per call, and a 2-core machine does not reach 10 TFLOP/s
    expect(peak).toBeGreaterThan(1e7);
    expect(peak).toBeLessThan(1e13);
    expect(peak).toBeLessThan((2 * 128 ** 3) / 1e-6);
  });
});

describe('trainOnWorld: config fields that reach the trainer', () => {
  it('the AdamW settings of the config are the ones the run uses (saved with the checkpoint)', async () => {
    const out = join(dir, 'adamw-settings');
    const cfg = parseSftConfig({ out, model: micro, steps: 1, warmupSteps: 0, lr: 2e-3, beta1: 0.8, beta2: 0.9, weightDecay: 0.05, maxGradNorm: 0.5, data: { tokenBudget: 300, categories: 'color_alter' }, seed: 4 });
    const r = await trainOnWorld(cfg, { quiet: true });
    r.model.dispose();
    const ck = loadCheckpoint(checkpointPath(out));
    expect(ck.optimizer!.cfg).toMatchObject({ lr: 2e-3, beta1: 0.8, beta2: 0.9, weightDecay: 0.05, maxGradNorm: 0.5 });
  });

  it('a dropped instruction takes the CoT with it: dropText 1 and no understanding samples leave no CE rows (ce 0); with dropText 0 there are', async () => {
    const base = { model: micro, steps: 2, warmupSteps: 0, data: { tokenBudget: 300, categories: 'color_alter', understandingRatio: 0, dropText: 1 }, seed: 4 };
    const dropped = await trainOnWorld(parseSftConfig({ ...base, out: join(dir, 'drop-text') }), { quiet: true });
    dropped.model.dispose();
    expect(dropped.result.metrics.map((m) => m.ce)).toEqual([0, 0]);
    const kept = await trainOnWorld(parseSftConfig({ ...base, out: join(dir, 'keep-text'), data: { ...base.data, dropText: 0 } }), { quiet: true });
    kept.model.dispose();
    expect(kept.result.metrics.every((m) => m.ce > 0)).toBe(true);
  });

  it('a time budget of 60 minutes does not cut a 3-step run short', async () => {
    const out = join(dir, 'minutes');
    const r = await trainOnWorld(parseSftConfig({ out, model: micro, steps: 3, warmupSteps: 0, minutes: 60, data: { tokenBudget: 300, categories: 'color_alter' }, seed: 4 }), { quiet: true });
    r.model.dispose();
    expect(r.result.stopped).toBe('done');
    expect(r.result.steps).toBe(3);
  });
});

describe('measureGemmPeak: defaults', () => {
  it('without a device it measures on the CPU and gives a positive figure', async () => {
    const peak = await measureGemmPeak(undefined, [64], 1);
    expect(peak).toBeGreaterThan(0);
    expect(Number.isFinite(peak)).toBe(true);
  });

  it('on the CPU without sizes it times square GEMMs of 512 and 1024', async () => {
    const { vi } = await import('vitest');
    const { gemm } = await import('../../src/ops/gemm.js');
    const seen: number[][] = [];
    // record the sizes only (the GEMMs themselves are not run)
    const spy = vi.spyOn(gemm, 'async').mockImplementation(async (a, b) => {
      seen.push([...a.shape, ...b.shape]);
    });
    try {
      await measureGemmPeak('cpu', undefined, 2);
    } finally {
      spy.mockRestore();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(([m, k, k2, n]) => m === k && k === k2 && k2 === n)).toBe(true);
    expect([...new Set(seen.map((s) => s[0]))]).toEqual([512, 1024]);
  });
});
