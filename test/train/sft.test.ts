import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { type CheckpointData, loadCheckpoint } from '../../src/model/checkpoint.js';
import { MotModel } from '../../src/model/model.js';
import { stepShapeOf } from '../../src/train/flops.js';
import { type BatchSource, type SftConfig, runSft } from '../../src/train/sft.js';
import { editAndUnderstanding, microConfig } from '../model/fixtures.js';
import { failAdamWUpdateAt } from './adamw-fail.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-sft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = microConfig({ hidden: 32, mlp: 48 });

// A small fixed pool of packed batches, visited in an order that depends only on the step (period 5
// in the step: a trainer that took step s - 1's or s + 1's batches for step s would train differently).
function source(poison?: { step: number }): BatchSource {
  return {
    batchAt(step, micro) {
      const batch = editAndUnderstanding(cfg, 1 + ((step * 2 + micro) % 5));
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

  it('stopping and resuming reproduces the uninterrupted run exactly: losses, weights, AdamW moments and step, EMA', async () => {
    const cfg20 = { ...sft, steps: 20, checkpointEvery: 5 };
    const meta = { seed: 5, data: { variant: 'meta' } };
    const full = await (async () => {
      using model = MotModel.create(cfg, { seed: 5 });
      return (await runSft({ outDir: join(dir, 'full'), model, source: source(), cfg: cfg20, meta, quiet: true })).metrics.map((m) => m.loss);
    })();
    const out = join(dir, 'resumed');
    const first = await (async () => {
      using model = MotModel.create(cfg, { seed: 5 });
      // stop after step 7 (as Ctrl-C would): the run saves a checkpoint at step 7
      const r = await runSft({ outDir: out, model, source: source(), cfg: cfg20, meta, quiet: true, onStep: (m) => (m.step === 7 ? 'stop' : undefined) });
      expect(r.stopped).toBe('interrupted');
      expect(r.steps).toBe(7);
      return r.metrics.map((m) => m.loss);
    })();
    using model = MotModel.create(cfg, { seed: 999 }); // different init: everything must come from the checkpoint
    const rest = await runSft({ outDir: out, model, source: source(), cfg: cfg20, meta, quiet: true, resume: true });
    expect(rest.metrics[0].step).toBe(8);
    expect([...first, ...rest.metrics.map((m) => m.loss)]).toEqual(full);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([...Array(20).keys()].map((i) => i + 1));
    // the final states are the same, tensor by tensor and field by field
    const a = loadCheckpoint(join(dir, 'full', 'checkpoint.safetensors'));
    const b = loadCheckpoint(join(out, 'checkpoint.safetensors'));
    expectSameCheckpoint(b, a);
    expect(b.ema!.size).toBe(model.layout.length);
    expect(b.optimizer!.step).toBe(20);
    expect(b.state).toEqual({ ...meta, sft: cfg20 });
  });

  it('metrics: rates are the counts of a step over its seconds; lines every logEvery steps and at the end; the final message', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'log');
    const r = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 7, logEvery: 3 }, quiet: true, peakFlops: 2e9 });
    expect(r.message).toBe(`finished 7 steps; checkpoint ${join(out, 'checkpoint.safetensors')}`);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((m) => m.step)).toEqual([3, 6, 7]);
    expect(r.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const m of r.metrics) {
      expect(m.seconds).toBeGreaterThan(0);
      expect(m.seconds).toBeLessThan(60);
      expect(m.samples).toBe(4);
      expect(m.samplesPerSec).toBeCloseTo(m.samples / m.seconds, 9);
      expect(m.tokensPerSec).toBeCloseTo(m.tokens / m.seconds, 9);
      expect(m.mfu!).toBeCloseTo(m.flopsPerSec / 2e9, 9);
      expect(m.flopsPerSec * m.seconds).toBeGreaterThan(m.tokens);
    }
    const noPeak = await runSft({ outDir: join(dir, 'log2'), model, source: source(), cfg: { ...sft, steps: 1 }, quiet: true });
    expect(noPeak.metrics[0].mfu).toBeNull();
  });

  it('an aborted signal stops before the next step, with a checkpoint and the resume hint', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'abort');
    const ac = new AbortController();
    const r = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 10 }, quiet: true, signal: ac.signal, onStep: (m) => void (m.step === 3 && ac.abort()) });
    expect(r).toMatchObject({ steps: 3, stopped: 'interrupted', message: `stopped at step 3; checkpoint ${join(out, 'checkpoint.safetensors')} (resume with --resume)` });
    expect(loadCheckpoint(join(out, 'checkpoint.safetensors')).step).toBe(3);
  });

  it('checkpoints every checkpointEvery steps; no EMA is kept or saved with emaDecay 0; a resume drops metric lines after its step', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'cadence');
    const ck = join(out, 'checkpoint.safetensors');
    const seen: number[] = [];
    await runSft({
      outDir: out, model, source: source(), cfg: { ...sft, steps: 7, checkpointEvery: 3, emaDecay: 0 }, quiet: true,
      onStep: () => void seen.push(existsSync(ck) ? loadCheckpoint(ck).step : -1),
    });
    // onStep runs after the step's checkpoint (if any): 3 and 6, not 7 (the end writes its own)
    expect(seen).toEqual([-1, -1, 3, 3, 3, 6, 6]);
    const last = loadCheckpoint(ck);
    expect(last.step).toBe(7);
    expect(last.ema).toBeUndefined();
    // a run stopped at 7 whose metrics file also holds lines of steps it did not checkpoint
    writeFileSync(join(out, 'metrics.jsonl'), `${readFileSync(join(out, 'metrics.jsonl'), 'utf8')}${JSON.stringify({ step: 8 })}\n\n`);
    const rest = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 9, checkpointEvery: 3, emaDecay: 0 }, quiet: true, resume: true });
    expect(rest.metrics.map((m) => m.step)).toEqual([8, 9]);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('--resume with no checkpoint refuses; or-start starts a fresh run', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'none');
    await expect(runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 2 }, quiet: true, resume: true })).rejects.toThrow(
      `--resume: there is no checkpoint to resume from at '${join(out, 'checkpoint.safetensors')}' (use --resume-or-start to start a fresh run when there is none)`,
    );
    const r = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 2 }, quiet: true, resume: 'or-start' });
    expect(r.metrics.map((m) => m.step)).toEqual([1, 2]);
    // and with one there, or-start resumes
    const again = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 3 }, quiet: true, resume: 'or-start' });
    expect(again.metrics.map((m) => m.step)).toEqual([3]);
  });

  it('a resume under another seed, learning rate or EMA refuses, naming the field; more steps are fine', async () => {
    const out = join(dir, 'mismatch');
    const meta = { seed: 1, data: { categories: 'full' } };
    const go = (over: Partial<SftConfig>, m: Record<string, unknown> = meta) => {
      const model = MotModel.create(cfg, { seed: 3 });
      return runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 3, ...over }, meta: m, quiet: true, resume: true }).finally(() => model.dispose());
    };
    {
      using model = MotModel.create(cfg, { seed: 3 });
      await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 3 }, meta, quiet: true });
    }
    await expect(go({}, { ...meta, seed: 2 })).rejects.toThrow(/--resume: checkpoint '.*' was written by a run with seed = 1, this run has 2; resuming would not continue that run/);
    await expect(go({}, { ...meta, data: { categories: '5meta' } })).rejects.toThrow(/with data.categories = "full", this run has "5meta"/);
    await expect(go({ schedule: { ...sft.schedule, lr: 1 } })).rejects.toThrow(/with sft.schedule.lr = 0.003, this run has 1;/);
    await expect(go({ gradAccum: 1 })).rejects.toThrow(/with sft.gradAccum = 2, this run has 1;/);
    await expect(go({}, { seed: 1 })).rejects.toThrow(/with data = \{"categories":"full"\}, this run has \(absent\)/);
    // the EMA is part of the state: turning it off is a config change, and a checkpoint without it cannot feed one
    await expect(go({ emaDecay: 0 })).rejects.toThrow(/with sft.emaDecay = 0.9, this run has 0;/);
    const r = await go({ steps: 5, logEvery: 2, checkpointEvery: 1 });
    expect(r.metrics.map((m) => m.step)).toEqual([4, 5]);
  });

  it('a checkpoint missing the EMA or the optimizer state is not resumed from', async () => {
    const { saveCheckpoint } = await import('../../src/model/checkpoint.js');
    const { AdamW } = await import('../../src/train/optimizer.js');
    for (const missing of ['ema', 'optimizer'] as const) {
      const out = join(dir, `missing-${missing}`);
      {
        using model = MotModel.create(cfg, { seed: 3 });
        using opt = new AdamW(model);
        mkdirSync(out, { recursive: true });
        saveCheckpoint(join(out, 'checkpoint.safetensors'), model, {
          step: 2,
          optimizer: missing === 'optimizer' ? undefined : opt,
          ema: missing === 'ema' ? undefined : model.params,
          state: { sft: { ...sft, steps: 4 } },
        });
      }
      using model = MotModel.create(cfg, { seed: 3 });
      await expect(runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 4 }, quiet: true, resume: true })).rejects.toThrow(
        missing === 'ema' ? /holds no EMA weights, but this run keeps an EMA \(emaDecay 0.9\)/ : /no optimizer state stored/,
      );
    }
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

/** Every tensor group and state field of two checkpoints equal, exactly. */
function expectSameCheckpoint(got: CheckpointData, want: CheckpointData): void {
  expect(got.step).toBe(want.step);
  expect(got.state).toEqual(want.state);
  expect(got.config).toEqual(want.config);
  expect(got.tokenizer).toEqual(want.tokenizer);
  expect(got.optimizer?.step).toBe(want.optimizer?.step);
  expect(got.optimizer?.cfg).toEqual(want.optimizer?.cfg);
  const groups: [string, Map<string, Float32Array> | undefined, Map<string, Float32Array> | undefined][] = [
    ['model', got.params, want.params],
    ['optim.m', got.optimizer?.m, want.optimizer?.m],
    ['optim.v', got.optimizer?.v, want.optimizer?.v],
    ['ema', got.ema, want.ema],
  ];
  for (const [name, g, w] of groups) {
    expect(g, name).toBeDefined();
    expect([...g!.keys()], name).toEqual([...w!.keys()]);
    for (const [k, v] of w!) expect(g!.get(k), `${name}.${k}`).toEqual(v);
  }
}

describe('SFT: EMA, optimizer settings, error paths and the metrics file', () => {
  it('the EMA follows ema_0 = initial weights, ema_k = d ema_(k-1) + (1 - d) p_k over the steps, and a resume continues it from the checkpoint', async () => {
    const { expectClose } = await import('../helpers.js');
    const d = 0.8;
    const c = { ...sft, steps: 6, checkpointEvery: 100, emaDecay: d };
    const out = join(dir, 'ema-recursion');
    let ref: Float64Array[] = [];
    // onStep runs after the step's update: the weights then are p_k
    const follow = (model: MotModel, stopAt?: number) => (m: { step: number }) => {
      model.params.forEach((p, i) => {
        const v = p.toFloat32Array();
        for (let j = 0; j < v.length; j++) ref[i][j] = d * ref[i][j] + (1 - d) * v[j];
      });
      return m.step === stopAt ? 'stop' : undefined;
    };
    const expectEma = (label: string, layout: { name: string }[], initial: Float32Array[]) => {
      const ck = loadCheckpoint(join(out, 'checkpoint.safetensors'));
      layout.forEach((s, i) => {
        const got = ck.ema!.get(s.name)!;
        expectClose(got, ref[i], { atol: 1e-6, rtol: 1e-5, name: `${label} ema ${s.name}` });
      });
      // the EMA moved off the initial weights (a stale EMA would equal them)
      const moved = layout.some((s, i) => ck.ema!.get(s.name)!.some((x, j) => Math.abs(x - initial[i][j]) > 1e-4));
      expect(moved, label).toBe(true);
    };
    let initial: Float32Array[];
    {
      using model = MotModel.create(cfg, { seed: 5 });
      initial = model.params.map((p) => p.toFloat32Array());
      ref = initial.map((p) => Float64Array.from(p));
      const r = await runSft({ outDir: out, model, source: source(), cfg: c, quiet: true, onStep: follow(model, 3) });
      expect(r.steps).toBe(3);
      expectEma('step 3', model.layout, initial);
    }
    using model = MotModel.create(cfg, { seed: 999 });
    const r = await runSft({ outDir: out, model, source: source(), cfg: c, quiet: true, resume: true, onStep: follow(model) });
    expect(r.metrics.map((m) => m.step)).toEqual([4, 5, 6]);
    expectEma('step 6', model.layout, initial);
  });

  it('the optimizer settings of the config are the ones AdamW runs with (saved with the checkpoint)', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'opt-settings');
    const optimizer = { beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.05, maxGradNorm: 0.5 };
    await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 2, optimizer }, quiet: true });
    const ck = loadCheckpoint(join(out, 'checkpoint.safetensors'));
    expect(ck.optimizer!.cfg).toEqual({ ...optimizer, lr: sft.schedule.lr });
    expect(ck.optimizer!.step).toBe(2);
  });

  it('a non-finite gradient norm (E_NAN from the AdamW step) stops the run as "nan"; any other AdamW error rejects the run', async () => {
    const nanErr = Object.assign(new Error('adamw: global gradient norm is nan'), { code: 'E_NAN' });
    let spy = failAdamWUpdateAt(3, nanErr);
    try {
      using model = MotModel.create(cfg, { seed: 3 });
      const out = join(dir, 'adamw-nan');
      const r = await runSft({ outDir: out, model, source: source(), cfg: { ...sft, steps: 6, checkpointEvery: 100 }, quiet: true });
      expect(r).toMatchObject({ stopped: 'nan', steps: 2, lastCheckpoint: null });
      expect(r.message).toBe(
        'training stopped at step 3: gradient norm is not finite: adamw: global gradient norm is nan. The last good checkpoint is (none: no checkpoint was written yet); nothing after it was saved.',
      );
      expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
    } finally {
      spy.mockRestore();
    }
    const other = Object.assign(new Error('adamw: argument lr expected a finite number'), { code: 'E_ARG' });
    spy = failAdamWUpdateAt(2, other);
    try {
      using model = MotModel.create(cfg, { seed: 3 });
      let caught: unknown;
      await runSft({ outDir: join(dir, 'adamw-arg'), model, source: source(), cfg: { ...sft, steps: 6 }, quiet: true }).catch((e: unknown) => {
        caught = e;
      });
      expect(caught).toBe(other);
    } finally {
      spy.mockRestore();
    }
  });

  it('a NaN in the data of the first step: the message says no checkpoint was written yet', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const r = await runSft({ outDir: join(dir, 'nan-first'), model, source: source({ step: 0 }), cfg: { ...sft, steps: 5 }, quiet: true });
    expect(r).toMatchObject({ stopped: 'nan', steps: 0, lastCheckpoint: null });
    expect(r.message).toMatch(/^training stopped at step 1: .*\. The last good checkpoint is \(none: no checkpoint was written yet\); nothing after it was saved\.$/);
  });

  it('an error that is not a non-finite value (a failing data source) rejects the run, it is not a "nan" stop', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const boom = new Error('boom: the data source failed');
    const base = source();
    const failing: BatchSource = {
      batchAt(step, micro) {
        if (step === 3) throw boom;
        return base.batchAt(step, micro);
      },
    };
    let caught: unknown;
    const r = await runSft({ outDir: join(dir, 'boom'), model, source: failing, cfg: { ...sft, steps: 6 }, quiet: true }).catch((e: unknown) => {
      caught = e;
      return null;
    });
    expect(r).toBeNull();
    expect(caught).toBe(boom);
  });

  it('a resume from a checkpoint that lacks a weight refuses, naming the model tensor', async () => {
    const { checkpointTensors } = await import('../../src/model/checkpoint.js');
    const { saveSafetensors } = await import('../../src/model/safetensors.js');
    const { AdamW } = await import('../../src/train/optimizer.js');
    const out = join(dir, 'missing-weight');
    mkdirSync(out, { recursive: true });
    using model = MotModel.create(cfg, { seed: 3 });
    const c = { ...sft, steps: 4 };
    const name = model.layout[2].name;
    {
      using opt = new AdamW(model, { ...c.optimizer, lr: c.schedule.lr });
      const { tensors, metadata } = checkpointTensors(model, { step: 2, optimizer: opt, ema: model.params, state: { sft: c } });
      saveSafetensors(join(out, 'checkpoint.safetensors'), tensors.filter((t) => t.name !== `model.${name}`), metadata);
    }
    await expect(runSft({ outDir: out, model, source: source(), cfg: c, quiet: true, resume: true })).rejects.toThrow(`checkpoint: model tensor '${name}' is missing`);
  });

  it('the metrics file on resume: a missing file starts a new one, blank lines are skipped; a fresh run in the same folder starts it empty', async () => {
    const out = join(dir, 'metrics-edges');
    const metricsPath = join(out, 'metrics.jsonl');
    const c = { ...sft, steps: 3, emaDecay: 0 };
    const steps = () => readFileSync(metricsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    using model = MotModel.create(cfg, { seed: 3 });
    await runSft({ outDir: out, model, source: source(), cfg: c, quiet: true });
    expect(steps()).toEqual([1, 2, 3]);
    // no metrics file next to the checkpoint: the resume still runs and writes its own lines
    rmSync(metricsPath);
    const a = await runSft({ outDir: out, model, source: source(), cfg: { ...c, steps: 4 }, quiet: true, resume: true });
    expect(a.metrics.map((m) => m.step)).toEqual([4]);
    expect(steps()).toEqual([4]);
    // whitespace-only lines are not metric lines
    writeFileSync(metricsPath, `${readFileSync(metricsPath, 'utf8')}  \n\t\n`);
    const b = await runSft({ outDir: out, model, source: source(), cfg: { ...c, steps: 5 }, quiet: true, resume: true });
    expect(b.metrics.map((m) => m.step)).toEqual([5]);
    expect(steps()).toEqual([4, 5]);
    // a run that does not resume owns the folder: the old lines go
    const fresh = await runSft({ outDir: out, model, source: source(), cfg: { ...c, steps: 2 }, quiet: true });
    expect(fresh.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(steps()).toEqual([1, 2]);
  });

  it('the last step writes only the final checkpoint: with steps 6 and checkpointEvery 3, onStep at step 6 still sees checkpoint 3', async () => {
    using model = MotModel.create(cfg, { seed: 3 });
    const out = join(dir, 'cadence-last');
    const ck = join(out, 'checkpoint.safetensors');
    const seen: number[] = [];
    const r = await runSft({
      outDir: out, model, source: source(), cfg: { ...sft, steps: 6, checkpointEvery: 3, emaDecay: 0 }, quiet: true,
      onStep: () => void seen.push(existsSync(ck) ? loadCheckpoint(ck).step : -1),
    });
    expect(seen).toEqual([-1, -1, 3, 3, 3, 3]);
    expect(r.stopped).toBe('done');
    expect(loadCheckpoint(ck).step).toBe(6);
  });
});

describe('AdamW', () => {
  it('update on a model without gradient buffers (grads: false) refuses, saying so', async () => {
    const { AdamW } = await import('../../src/train/optimizer.js');
    using model = MotModel.create(cfg, { seed: 3, grads: false });
    using opt = new AdamW(model);
    await expect(opt.update()).rejects.toThrow(/^AdamW\.update: the model has no gradient buffers \(created with grads: false\)$/);
    expect(opt.step).toBe(0);
  });
});
