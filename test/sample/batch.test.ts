// The batched sampler: against the forward-pass reference (test/sample/fixture.ts), a batch against
// the same requests one by one, a shared-prefix group against the same group without sharing, the
// flow noise keys, and the SDE window's records (log-probabilities replayed by flow_step).
import { describe, expect, it, vi } from 'vitest';

import { MotModel } from '../../src/model/model.js';
import { loadBackend } from '../../src/native/loader.js';
import { Tensor } from '../../src/native/tensor.js';
import { flowStep } from '../../src/ops/sampler.js';
import { type BatchEditRequest, type BatchSampleOptions, sampleBatch } from '../../src/sample/batch.js';
import { DEFAULT_EDIT } from '../../src/sample/edit.js';
import { expectClose, randArray } from '../helpers.js';
import { randomizeParams } from '../model/fixtures.js';
import { flowStreamRef, philoxNormals } from '../ref/philox.js';
import { cfg, ctx, picture, reference } from './fixture.js';

const C = cfg.latentChannels;
const BASE: BatchSampleOptions = { steps: 4, timestepShift: 3, cfgText: 4, cfgImg: 2, cfgInterval: [0, 1], renorm: 'text_channel', renormMin: 0, seed: 7 };

function micro(seed = 5): MotModel {
  const m = MotModel.create(cfg, { seed: 1, grads: false });
  randomizeParams(m, seed, { scale: 0.4 });
  return m;
}

// three different prompts, the second with an image of another size (4x4 -> 2x2 latent grid)
const REQS: BatchEditRequest[] = [
  { source: picture(3), instruction: 'remove the red circle', cot: '<summary> meta : remove </summary>', key: 11 },
  { source: picture(4, 4), instruction: 'paint the square blue', cot: '', key: 12 },
  { source: picture(5), instruction: 'move the triangle left', cot: '<summary> meta : move </summary>', key: -5 },
];

describe('sampleBatch', () => {
  for (const [name, o] of [
    ['text_channel renorm, CFG throughout', BASE],
    ['global renorm (per request) with a floor, CFG inside [0.6, 1]', { ...BASE, renorm: 'global', renormMin: 0.5, cfgInterval: [0.6, 1], timestepShift: 1, steps: 5 }],
    // no floor: each request's own norm ratio binds (a norm over the whole batch would not match);
    // guidance off at t = 1 and on later
    ['global renorm without a floor, CFG inside [0, 0.5] only', { ...BASE, renorm: 'global', renormMin: 0, cfgInterval: [0, 0.5], timestepShift: 1, steps: 5 }],
  ] as const)
    it(`each request matches the forward-pass reference with its noise: ${name}`, async () => {
      using model = micro();
      const noise = REQS.map((r, i) => Float32Array.from(randArray(ctx.codec.encode(r.source).data.length, 20 + i)));
      const res = await sampleBatch(model, ctx, REQS, { ...o, noise });
      expect(res.contexts).toBe(9);
      for (let i = 0; i < REQS.length; i++) {
        const want = await reference(model, REQS[i].source, REQS[i].instruction, REQS[i].cot ?? '', noise[i], { ...DEFAULT_EDIT, ...o, noise: undefined, cfgInterval: [...o.cfgInterval] });
        expect(Math.max(...Array.from(want, (w, j) => Math.abs(w - noise[i][j])))).toBeGreaterThan(0.05);
        expectClose(res.outputs[i].latents, want, { atol: 2e-4, rtol: 1e-3, name: `request ${i}` });
      }
    });

  it('a batch gives the same images as its requests one by one with the same keys', async () => {
    using model = micro();
    const all = await sampleBatch(model, ctx, REQS, BASE);
    for (let i = 0; i < REQS.length; i++) {
      const one = await sampleBatch(model, ctx, [REQS[i]], BASE);
      expectClose(all.outputs[i].latents, one.outputs[0].latents, { atol: 1e-5, rtol: 1e-5, name: `request ${i}` });
      expect(Array.from(all.outputs[i].image.data)).toEqual(Array.from(one.outputs[0].image.data));
    }
    // another key, another image; the same key and seed in another order, the same image
    const other = await sampleBatch(model, ctx, [{ ...REQS[0], key: 99 }], BASE);
    expect(Math.max(...Array.from(other.outputs[0].latents, (v, j) => Math.abs(v - all.outputs[0].latents[j])))).toBeGreaterThan(1e-3);
    const reordered = await sampleBatch(model, ctx, [REQS[2], REQS[0]], BASE);
    expectClose(reordered.outputs[1].latents, all.outputs[0].latents, { atol: 1e-5, rtol: 1e-5, name: 'reordered' });
  });

  it('a group with one prompt shares one cached prefix and equals the same group without sharing', async () => {
    using model = micro();
    const group = [0, 1, 2, 3].map((k) => ({ ...REQS[0], key: 100 + k }));
    const o = { ...BASE, sde: { start: 0, size: 2, mode: 'sde' as const, noiseLevel: 0.7 }, record: true };
    const shared = await sampleBatch(model, ctx, group, o);
    const apart = await sampleBatch(model, ctx, group, { ...o, sharePrefix: false });
    expect(shared.contexts).toBe(3);
    expect(apart.contexts).toBe(12);
    for (let i = 0; i < group.length; i++) {
      expectClose(shared.outputs[i].latents, apart.outputs[i].latents, { atol: 1e-5, rtol: 1e-5, name: `rollout ${i}` });
      expectClose(shared.outputs[i].steps!.map((s) => s.logp), apart.outputs[i].steps!.map((s) => s.logp), { atol: 1e-5, rtol: 1e-5, name: 'logp' });
    }
    // the rollouts differ (their keys draw different noise)
    expect(Math.abs(shared.outputs[0].latents[0] - shared.outputs[1].latents[0])).toBeGreaterThan(1e-4);
  });

  it('records every step; SDE steps inside the window only, their log-probabilities replayed exactly', async () => {
    using model = micro();
    const o: BatchSampleOptions = { ...BASE, steps: 6, sde: { start: 1, size: 2, mode: 'sde', noiseLevel: 0.7 }, record: true };
    const res = await sampleBatch(model, ctx, REQS.slice(0, 2), o);
    const steps = res.outputs[0].steps!;
    expect(steps.map((s) => s.mode)).toEqual(['ode', 'sde', 'sde', 'ode', 'ode']);
    expect(steps[0].t).toBe(1);
    expect(steps[4].tNext).toBe(0);
    for (let i = 0; i + 1 < steps.length; i++) expect(Array.from(steps[i + 1].x)).toEqual(Array.from(steps[i].xNext));
    expect(Array.from(res.outputs[0].latents)).toEqual(Array.from(steps[4].xNext));
    expect(steps[0].logp).toBe(0);
    expect(steps[1].std).toBeGreaterThan(0);
    // the ODE steps' next sample is their mean; an SDE step's is not
    expect(Array.from(steps[3].xNext)).toEqual(Array.from(steps[3].mean));
    expect(Math.max(...Array.from(steps[1].xNext, (v, j) => Math.abs(v - steps[1].mean[j])))).toBeGreaterThan(1e-3);
    // replay: the recorded (x, xNext) and the mean give back the recorded log-probability
    const s = steps[1];
    const n = s.x.length / C;
    using mean = Tensor.zeros([n, C]);
    using std = Tensor.zeros([1]);
    using logp = Tensor.zeros([1]);
    // v from the recorded mean: mean = cx x + cv v is affine in v; logpOnly reads xNext and needs the same v
    // — here the mean is given back directly by passing v such that the mean matches (checked below)
    const sg = s.t;
    const dt = s.tNext - sg;
    const sd = 0.7 * Math.sqrt(sg / (1 - (sg === 1 ? steps[0].tNext : sg)));
    const cx = 1 + ((sd * sd) / (2 * sg)) * dt;
    const cv = (1 + (sd * sd * (1 - sg)) / (2 * sg)) * dt;
    const v = Float32Array.from(s.mean, (m, j) => (m - cx * s.x[j]) / cv);
    flowStep(
      { x: Tensor.from(s.x.slice(), [n, C]), v: Tensor.from(v, [n, C]), xNext: Tensor.from(s.xNext.slice(), [n, C]), mean, offsets: Tensor.from(Int32Array.of(0, n), [2]), sigma: Tensor.from(Float32Array.of(sg), [1]), sigmaNext: Tensor.from(Float32Array.of(s.tNext), [1]), std, logp },
      { mode: 'sde', logpOnly: true, noiseLevel: 0.7, sigmaMax: steps[0].tNext },
    );
    expectClose(mean.toFloat32Array(), s.mean, { atol: 1e-4, rtol: 1e-4, name: 'mean' });
    expect(logp.toFloat32Array()[0]).toBeCloseTo(s.logp, 3);
    expect(std.toFloat32Array()[0]).toBeCloseTo(s.std, 6);
  });

  it('the SDE noise of step i is flow_noise at step i + 1 of the request key; at t = 1 the std uses t_1', async () => {
    using model = micro();
    const o: BatchSampleOptions = { ...BASE, steps: 5, sde: { start: 0, size: 3, mode: 'sde', noiseLevel: 0.9 }, record: true };
    const req = REQS[0];
    const res = await sampleBatch(model, ctx, [req], o);
    const steps = res.outputs[0].steps!;
    const t1 = steps[0].tNext;
    expect(steps[0].std).toBeCloseTo(0.9 * Math.sqrt(1 / (1 - t1)) * Math.sqrt(1 - t1), 5);
    for (let i = 0; i < 3; i++) {
      const s = steps[i];
      const eps = Float32Array.from(s.xNext, (v, j) => (v - s.mean[j]) / s.std);
      expectClose(eps, philoxNormals(7n, flowStreamRef(req.key, i + 1), eps.length), { atol: 2e-3, rtol: 1e-3, name: `step ${i} noise` });
    }
    // and x_1 is flow_noise at step 0
    expectClose(steps[0].x, philoxNormals(7n, flowStreamRef(req.key, 0), steps[0].x.length), { atol: 2e-5, rtol: 1e-5, name: 'x_1' });
  });

  it('contexts: one per prompt without guidance, three with; a different CoT is a different prompt', async () => {
    using model = micro();
    const twoCots = [REQS[0], { ...REQS[0], cot: '<summary> meta : add </summary>', key: 40 }];
    const unguided = { ...BASE, cfgText: 1, cfgImg: 1 };
    expect((await sampleBatch(model, ctx, twoCots, unguided)).contexts).toBe(2);
    expect((await sampleBatch(model, ctx, [REQS[0], { ...REQS[0], key: 41 }], unguided)).contexts).toBe(1);
    // guidance only at t = 0, which is never stepped: no guidance contexts
    expect((await sampleBatch(model, ctx, [REQS[0]], { ...BASE, cfgInterval: [0, 0.01] })).contexts).toBe(1);
    const guided = await sampleBatch(model, ctx, twoCots, BASE);
    expect(guided.contexts).toBe(6);
    // each keeps its own CoT: the same images as alone
    for (let i = 0; i < 2; i++) {
      const one = await sampleBatch(model, ctx, [twoCots[i]], BASE);
      expectClose(guided.outputs[i].latents, one.outputs[0].latents, { atol: 1e-5, rtol: 1e-5, name: `cot ${i}` });
    }
  });

  it('a request without given noise draws flow_noise; no records unless asked; timings add up; no tensor left behind', async () => {
    using model = micro();
    // every tensor made while sampling is disposed by the end (counted by the factories, not by the
    // addon's live count, which other tests' collected tensors also move)
    const made: Tensor[] = [];
    const spies = (['zeros', 'from'] as const).map((name) => {
      const orig = Tensor[name] as (...a: unknown[]) => Tensor;
      return vi.spyOn(Tensor, name).mockImplementation(((...a: unknown[]) => {
        const t = orig.apply(Tensor, a);
        made.push(t);
        return t;
      }) as never);
    });
    const wall = performance.now();
    const drawn = await sampleBatch(model, ctx, REQS.slice(0, 2), BASE);
    const seconds = (performance.now() - wall) / 1000;
    spies.forEach((s) => s.mockRestore());
    expect(made.length).toBeGreaterThan(10);
    expect(made.filter((t) => !t.disposed)).toEqual([]);
    expect(drawn.outputs.every((o) => o.steps === undefined)).toBe(true);
    expect(drawn.seconds.prefill).toBeGreaterThan(0);
    expect(drawn.seconds.denoise).toBeGreaterThan(0);
    expect(drawn.seconds.prefill + drawn.seconds.denoise).toBeLessThanOrEqual(seconds);
    const given = Float32Array.from(randArray(ctx.codec.encode(REQS[1].source).data.length, 3));
    const mixed = await sampleBatch(model, ctx, REQS.slice(0, 2), { ...BASE, noise: [undefined, given], record: true });
    expectClose(mixed.outputs[0].latents, drawn.outputs[0].latents, { atol: 1e-6, rtol: 1e-6, name: 'drawn noise' });
    expect(Array.from(mixed.outputs[1].steps![0].x)).toEqual(Array.from(given));
    // the second request's records are its own rows
    expect(Array.from(mixed.outputs[1].steps!.at(-1)!.xNext)).toEqual(Array.from(mixed.outputs[1].latents));
    expect(mixed.outputs[1].steps!.every((s) => s.x.length === given.length)).toBe(true);
  });

  it('checks its arguments', async () => {
    using model = micro();
    await expect(sampleBatch(model, ctx, [], BASE)).rejects.toThrow("sampleBatch: argument 'requests' expected at least one request, received none");
    await expect(sampleBatch(model, ctx, [{ ...REQS[0], key: 1.5 }], BASE)).rejects.toThrow("sampleBatch: request 0: 'key' expected a 32-bit integer, received 1.5");
    await expect(sampleBatch(model, ctx, REQS, { ...BASE, sde: { start: 2, size: 2, mode: 'sde', noiseLevel: 0.7 } })).rejects.toThrow("sampleBatch: option 'sde' expected a window of steps inside 0..2, received start 2, size 2");
    for (const key of [2 ** 31, -(2 ** 31) - 1]) await expect(sampleBatch(model, ctx, [{ ...REQS[0], key }], BASE)).rejects.toThrow(`'key' expected a 32-bit integer, received ${key}`);
    for (const steps of [1, 2.5]) await expect(sampleBatch(model, ctx, REQS, { ...BASE, steps })).rejects.toThrow(`sampleBatch: option 'steps' expected an integer >= 2, received ${steps}`);
    for (const seed of [-1, 0.5]) await expect(sampleBatch(model, ctx, REQS, { ...BASE, seed })).rejects.toThrow(`sampleBatch: option 'seed' expected a non-negative integer, received ${seed}`);
    for (const [start, size] of [[-1, 1], [0.5, 1], [0, 0], [0, 1.5], [1, 3]])
      await expect(sampleBatch(model, ctx, REQS, { ...BASE, sde: { start, size, mode: 'sde', noiseLevel: 0.7 } })).rejects.toThrow(`sampleBatch: option 'sde' expected a window of steps inside 0..2, received start ${start}, size ${size}`);
    // the edges that are allowed: 32-bit keys at both ends, seed 0, two steps, a window ending at steps - 2
    const edge = await sampleBatch(model, ctx, [{ ...REQS[0], key: -(2 ** 31) }, { ...REQS[0], key: 2 ** 31 - 1 }], { ...BASE, steps: 2, seed: 0 });
    expect(edge.outputs).toHaveLength(2);
    const win = await sampleBatch(model, ctx, [REQS[0]], { ...BASE, sde: { start: 1, size: 2, mode: 'sde', noiseLevel: 0.7 }, record: true });
    expect(win.outputs[0].steps!.map((s) => s.mode)).toEqual(['ode', 'sde', 'sde']);
    const single = await sampleBatch(model, ctx, [REQS[0]], { ...BASE, sde: { start: 0, size: 1, mode: 'cps', noiseLevel: 0.7 }, record: true });
    expect(single.outputs[0].steps!.map((s) => s.mode)).toEqual(['cps', 'ode', 'ode']);
    await expect(sampleBatch(model, ctx, REQS, { ...BASE, noise: [undefined] })).rejects.toThrow("sampleBatch: option 'noise' expected one entry per request (3), received 1");
    await expect(sampleBatch(model, ctx, [REQS[0]], { ...BASE, noise: [new Float32Array(3)] })).rejects.toThrow(`sampleBatch: option 'noise' of request 0 expected ${9 * C} floats (9 tokens x ${C} channels), received 3`);
  });
});

const backend = loadBackend();
const onCuda = backend.device === 'cuda';
describe.skipIf(!onCuda)(`sampleBatch on CUDA vs CPU${onCuda ? '' : ` (skipped: ${backend.fallbackReasons.join('; ')})`}`, () => {
  it('the same rollouts (images, log-probabilities) with the loop on the device', async () => {
    using cpu = micro();
    using gpu = cpu.copyTo('cuda');
    const o: BatchSampleOptions = { ...BASE, sde: { start: 0, size: 2, mode: 'sde', noiseLevel: 0.7 }, record: true };
    const a = await sampleBatch(cpu, ctx, REQS, o);
    const b = await sampleBatch(gpu, ctx, REQS, o);
    for (let i = 0; i < REQS.length; i++) {
      expectClose(b.outputs[i].latents, a.outputs[i].latents, { atol: 2e-3, rtol: 2e-3, name: `request ${i}` });
      expectClose(b.outputs[i].steps!.map((s) => s.logp), a.outputs[i].steps!.map((s) => s.logp), { atol: 1e-3, rtol: 1e-3, name: 'logp' });
    }
  });
});
