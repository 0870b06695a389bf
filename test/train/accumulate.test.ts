// Gradient accumulation: k micro-batches in one step give the loss and the gradients of one step over
// the same samples packed together (CE per CE row and MSE per noisy row over the whole step), for the
// CE term, the MSE term and both. The micro-batches hold different numbers of loss rows, so weighting
// each by 1/k would not pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { HostBatch } from '../../src/model/batch.js';
import { MotModel } from '../../src/model/model.js';
import { editSample } from '../../src/model/synthetic-batch.js';
import { accumulateGradients, lossCounts } from '../../src/train/accumulate.js';
import { stepShapeOf } from '../../src/train/flops.js';
import { type SftConfig, type TrainBatch, runSft } from '../../src/train/sft.js';
import { expectClose } from '../helpers.js';
import { buildBatch, concatBatches, editAndUnderstanding, microConfig, randomizeParams } from '../model/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-accum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = microConfig({ hidden: 32, mlp: 48 });

// three micro-batches with 4 + 5, 2 and 7 + 5 CE rows and 4, 6 and 3 + 2 noisy rows
const micro: HostBatch[] = [
  editAndUnderstanding(cfg, 3),
  buildBatch(cfg, editSample(0, { latent: 6, vit: 3, instr: 2, cot: 3 }), 4),
  buildBatch(cfg, [...editSample(0, { latent: 3, vit: 2, instr: 2, cot: 8 }), ...editSample(1, { latent: 2, vit: 4, instr: 3, cot: 6 })], 5),
];
const train = (b: HostBatch, samples = 1): TrainBatch => ({ batch: b, samples, shape: stepShapeOf(b) });

function sizes(g: Float32Array[]): number {
  return Math.max(...g.map((a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
}

async function gradients(batches: HostBatch[], w: { wCe: number; wMse: number }) {
  using model = MotModel.create(cfg, { seed: 1 });
  randomizeParams(model, 21);
  const r = await accumulateGradients(model, batches.map((b) => train(b)), w);
  return { r, grads: model.grads!.map((g) => g.toFloat32Array()), names: model.layout.map((s) => s.name) };
}

describe('gradient accumulation', () => {
  it('counts loss rows from the host batch (CE targets >= 0, MSE mask > 0)', () => {
    expect(micro.map(lossCounts)).toEqual([
      { ce: 9, mse: 4 },
      { ce: 3, mse: 6 },
      { ce: 14, mse: 5 },
    ]);
    expect(lossCounts({ ...micro[0], ceTargets: undefined, mseMask: undefined })).toEqual({ ce: 0, mse: 0 });
  });

  for (const w of [
    { wCe: 1, wMse: 0, name: 'CE only' },
    { wCe: 0, wMse: 1, name: 'MSE only' },
    { wCe: 0.7, wMse: 1.3, name: 'both' },
  ])
    it(`${w.name}: three micro-batches = one batch of the three (loss and every gradient)`, async () => {
      const parts = await gradients(micro, w);
      const whole = await gradients([concatBatches(micro)], w);
      for (const k of ['loss', 'ce', 'mse'] as const) expect(parts.r[k], k).toBeCloseTo(whole.r[k], 5);
      expect(parts.r.loss).toBeCloseTo(w.wCe * whole.r.ce + w.wMse * whole.r.mse, 5);
      expect(parts.r.samples).toBe(3);
      expect(parts.r.tokens).toBe(micro.reduce((a, b) => a + b.ids.length, 0));
      // fp32: the two runs sum the same terms in another order; 1e-5 of the largest gradient
      const scale = sizes(whole.grads);
      expect(scale).toBeGreaterThan(1e-3);
      parts.grads.forEach((g, i) => expectClose(g, whole.grads[i], { atol: 1e-5 * scale, rtol: 1e-4, name: parts.names[i] }));
      // each term's gradient is present only when its weight is
      const llm2vae = parts.names.findIndex((n) => n.includes('llm2vae'));
      const lmHead = parts.names.findIndex((n) => n.includes('lm_head'));
      expect(Math.min(llm2vae, lmHead)).toBeGreaterThanOrEqual(0);
      expect(sizes([parts.grads[llm2vae]]) > 0).toBe(w.wMse > 0);
      expect(sizes([parts.grads[lmHead]]) > 0).toBe(w.wCe > 0);
    });

  it('zeroes the gradients first: a second call gives the same gradients, not twice them', async () => {
    using model = MotModel.create(cfg, { seed: 1 });
    randomizeParams(model, 21);
    const batches = micro.map((b) => train(b));
    await accumulateGradients(model, batches, { wCe: 1, wMse: 1 });
    const first = model.grads!.map((g) => g.toFloat32Array());
    await accumulateGradients(model, batches, { wCe: 1, wMse: 1 });
    model.grads!.forEach((g, i) => expect(g.toFloat32Array()).toEqual(first[i]));
  });

  it('a micro-batch without CE rows only carries MSE; with none at all the CE term is 0', async () => {
    const noCe = { ...micro[1], ceTargets: new Int32Array(micro[1].ids.length).fill(-1) };
    const a = await gradients([noCe, micro[2]], { wCe: 1, wMse: 1 });
    const b = await gradients([concatBatches([noCe, micro[2]])], { wCe: 1, wMse: 1 });
    expect(a.r.ce).toBeCloseTo(b.r.ce, 5);
    expect(a.r.mse).toBeCloseTo(b.r.mse, 5);
    const none = await gradients([noCe], { wCe: 1, wMse: 1 });
    expect(none.r.ce).toBe(0);
    expect(Number.isFinite(none.r.loss)).toBe(true);
  });

  it('calls whileRunning once per micro-batch, in order', async () => {
    using model = MotModel.create(cfg, { seed: 1 });
    const seen: number[] = [];
    await accumulateGradients(model, micro.map((b) => train(b)), { wCe: 1, wMse: 1 }, { whileRunning: (m) => seen.push(m) });
    expect(seen).toEqual([0, 1, 2]);
    await expect(accumulateGradients(model, [], { wCe: 1, wMse: 1 })).rejects.toThrow("accumulateGradients: argument 'batches' expected at least one micro-batch, received none");
  });

  it('runSft with gradAccum 3 takes the step one batch of the three would take', async () => {
    const sft: SftConfig = {
      steps: 2,
      gradAccum: 3,
      wCe: 1,
      wMse: 0.5,
      schedule: { lr: 1e-2, warmupSteps: 0, kind: 'constant', minLr: 0 },
      // no clipping: the update follows the gradient's size, not only its direction
      optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
      emaDecay: 0,
      checkpointEvery: 100,
      logEvery: 1,
    };
    const run = async (name: string, gradAccum: number, at: (step: number, m: number) => HostBatch) => {
      using model = MotModel.create(cfg, { seed: 1 });
      randomizeParams(model, 22);
      const r = await runSft({ outDir: join(dir, name), model, cfg: { ...sft, gradAccum }, quiet: true, source: { batchAt: (s, m) => train(at(s, m)) } });
      return { metrics: r.metrics, params: model.params.map((p) => p.toFloat32Array()) };
    };
    const parts = await run('parts', 3, (_, m) => micro[m]);
    const whole = await run('whole', 1, () => concatBatches(micro));
    expect(parts.metrics.length).toBe(2);
    for (let s = 0; s < 2; s++)
      for (const k of ['loss', 'ce', 'mse', 'gradNorm'] as const) expect(parts.metrics[s][k], `step ${s + 1} ${k}`).toBeCloseTo(whole.metrics[s][k], 4);
    expect(parts.metrics[0].tokens).toBe(whole.metrics[0].tokens);
    parts.params.forEach((p, i) => expectClose(p, whole.params[i], { atol: 2e-5, rtol: 1e-4, name: `param ${i}` }));
  });
});

describe('gradient accumulation: loss rows and errors', () => {
  it('lossCounts counts noisy latents (mask > 0) as MSE rows, not clean ones: 4 clean + 2 noisy latents give mse 2', () => {
    const b = buildBatch(cfg, [
      { mode: 1, kind: 2, expert: 1, len: 4, sample: 0 },
      { mode: 0, kind: 0, expert: 0, len: 3, sample: 0, ce: true },
      { mode: 2, kind: 3, expert: 1, len: 2, sample: 0, mse: true },
    ], 7);
    expect(lossCounts(b)).toEqual({ ce: 3, mse: 2 });
  });

  it('a step without any MSE row (understanding-only micro-batches): finite loss, mse 0, the CE of one batch of the two', async () => {
    const und = (seed: number, len: number) =>
      buildBatch(cfg, [
        { mode: 1, kind: 1, expert: 0, len: 3, sample: 0 },
        { mode: 0, kind: 0, expert: 0, len, sample: 0, ce: true },
      ], seed);
    const parts = [und(3, 4), und(4, 6)];
    expect(parts.map((b) => lossCounts(b).mse)).toEqual([0, 0]);
    const a = await gradients(parts, { wCe: 1, wMse: 1 });
    const b = await gradients([concatBatches(parts)], { wCe: 1, wMse: 1 });
    expect(a.r.mse).toBe(0);
    expect(Number.isFinite(a.r.loss)).toBe(true);
    expect(a.r.ce).toBeGreaterThan(0);
    expect(a.r.ce).toBeCloseTo(b.r.ce, 5);
    expect(a.r.loss).toBeCloseTo(a.r.ce, 6);
    for (const g of a.grads) expect(g.every(Number.isFinite)).toBe(true);
  });

  it('a non-finite loss (E_NAN) becomes a NonFiniteError; any other forward error is rethrown as it is', async () => {
    const { NonFiniteError } = await import('../../src/train/accumulate.js');
    using model = MotModel.create(cfg, { seed: 1 });
    const nan = { ...micro[0], latents: Float32Array.from(micro[0].latents) };
    nan.latents[0] = Number.NaN;
    await expect(accumulateGradients(model, [train(micro[1]), train(nan)], { wCe: 1, wMse: 1 })).rejects.toBeInstanceOf(NonFiniteError);
    // a CE target outside the vocabulary is an argument error of the forward, not a NaN
    const bad = { ...micro[1], ceTargets: Int32Array.from(micro[1].ceTargets!) };
    bad.ceTargets[bad.ceTargets.findIndex((t) => t >= 0)] = cfg.vocab + 5;
    let caught: unknown;
    try {
      await accumulateGradients(model, [train(micro[0]), train(bad)], { wCe: 1, wMse: 1 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(NonFiniteError);
    expect((caught as { code?: string }).code).toBe('E_ARG');
    expect((caught as Error).message).toMatch(/argument 'ceTargets' expected values in \[-1, 23\)/);
  });
});

describe('gradient accumulation: a failing whileRunning', () => {
  it('an error thrown by whileRunning leaves as it is, after the running forward has settled: the model is idle and usable again', async () => {
    using model = MotModel.create(cfg, { seed: 1 });
    const boom = new Error('boom: building the next batch failed');
    let caught: unknown;
    await accumulateGradients(model, micro.map((b) => train(b)), { wCe: 1, wMse: 1 }, {
      whileRunning: (m) => {
        if (m === 1) throw boom;
      },
    }).catch((e: unknown) => {
      caught = e;
    });
    expect(caught).toBe(boom);
    // nothing is left running on the model: a new step runs at once
    const r = await accumulateGradients(model, [train(micro[0])], { wCe: 1, wMse: 1 });
    expect(Number.isFinite(r.loss)).toBe(true);
  });
});
