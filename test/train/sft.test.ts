import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { stepShapeOf } from '../../src/train/flops.js';
import { type BatchSource, type SftConfig, runSft } from '../../src/train/sft.js';
import { editAndUnderstanding, microConfig } from '../model/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-sft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = microConfig({ hidden: 32, mlp: 48 });

// A small fixed pool of packed batches, visited in an order that depends only on the step.
function source(poison?: { step: number }): BatchSource {
  return {
    batchAt(step, micro) {
      const batch = editAndUnderstanding(cfg, 1 + ((step * 2 + micro) % 4));
      if (poison && step === poison.step) batch.latents[0] = Number.NaN;
      return {
        batch,
        samples: 2,
        shape: stepShapeOf(batch),
      };
    },
  };
}

const sft: SftConfig = {
  steps: 40,
  gradAccum: 2,
  wCe: 1,
  wMse: 1,
  schedule: { lr: 3e-3, warmupSteps: 5, kind: 'cosine', minLr: 3e-4 },
  optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 },
  emaDecay: 0.9,
  checkpointEvery: 10,
  logEvery: 1,
};

describe('SFT', () => {
  it('a short run lowers both loss terms and writes metrics and a checkpoint', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'a');
    const r = await runSft({ outDir: out, model, source: source(), cfg: sft, quiet: true, peakFlops: 1e11 });
    expect(r.stopped).toBe('done');
    const head = r.metrics.slice(0, 4);
    const tail = r.metrics.slice(-4);
    const avg = (a: typeof head, k: 'ce' | 'mse') => a.reduce((s, m) => s + m[k], 0) / a.length;
    expect(avg(tail, 'ce')).toBeLessThan(0.7 * avg(head, 'ce'));
    expect(avg(tail, 'mse')).toBeLessThan(0.9 * avg(head, 'mse'));
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(40);
    const m = JSON.parse(lines[39]);
    expect(m.step).toBe(40);
    expect(m.tokensPerSec).toBeGreaterThan(0);
    expect(m.mfu).toBeGreaterThan(0);
    expect(r.lastCheckpoint).toBe(join(out, 'checkpoint.safetensors'));
  });

  it('stopping and resuming reproduces the uninterrupted losses exactly', async () => {
    const cfg20 = { ...sft, steps: 20, checkpointEvery: 5 };
    const full = await (async () => {
      using model = MotModel.create(cfg, { seed: 5 });
      return (await runSft({ outDir: join(dir, 'full'), model, source: source(), cfg: cfg20, quiet: true })).metrics.map((m) => m.loss);
    })();
    const out = join(dir, 'resumed');
    const first = await (async () => {
      using model = MotModel.create(cfg, { seed: 5 });
      // stop after step 7 (as Ctrl-C would): the run saves a checkpoint at step 7
      const r = await runSft({ outDir: out, model, source: source(), cfg: cfg20, quiet: true, onStep: (m) => (m.step === 7 ? 'stop' : undefined) });
      expect(r.stopped).toBe('interrupted');
      expect(r.steps).toBe(7);
      return r.metrics.map((m) => m.loss);
    })();
    using model = MotModel.create(cfg, { seed: 999 }); // different init: everything must come from the checkpoint
    const rest = await runSft({ outDir: out, model, source: source(), cfg: cfg20, quiet: true, resume: true });
    expect(rest.metrics[0].step).toBe(8);
    expect([...first, ...rest.metrics.map((m) => m.loss)]).toEqual(full);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([...Array(20).keys()].map((i) => i + 1));
  });

  it('a NaN in the data stops the run cleanly, keeping the last good checkpoint', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'nan');
    const r = await runSft({ outDir: out, model, source: source({ step: 12 }), cfg: { ...sft, steps: 30, checkpointEvery: 5 }, quiet: true });
    expect(r.stopped).toBe('nan');
    expect(r.steps).toBe(12);
    expect(r.message).toMatch(/training stopped at step 13: .*(not finite|non-finite).*last good checkpoint is .*checkpoint\.safetensors/);
    const { loadCheckpoint } = await import('../../src/model/checkpoint.js');
    expect(loadCheckpoint(join(out, 'checkpoint.safetensors')).step).toBe(10);
  });
});
