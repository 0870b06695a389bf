// The Flow-GRPO trainer (src/train/rl.ts) on the sampler tests' micro model: the CFG chain rule, the
// on-policy ratio, the gradient through the model against finite differences, which parameters
// learn, a toy reward that RL must raise, exact resume, and the refusals.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import type { Judge, JudgeItem, Verdict } from '../../src/judge/types.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { MotModel } from '../../src/model/model.js';
import { Tensor } from '../../src/native/tensor.js';
import { cfgCombine } from '../../src/ops/sampler.js';
import { sampleBatch } from '../../src/sample/batch.js';
import { thinkBatch } from '../../src/sample/edit.js';
import { parseRlConfig, readRlConfig } from '../../src/train/rl-config.js';
import { type PromptSource, type RlConfig, type RlPrompt, advantages, cfgCoefficients, policyGradients, rolloutKey, rolloutStep, runRl, sdeStartAt } from '../../src/train/rl.js';
import { hashSeed } from '../../src/world/rng.js';
import { randomizeParams } from '../model/fixtures.js';
import { randArray } from '../helpers.js';
import { cfg as microCfg, ctx, picture } from '../sample/fixture.js';
import { failAdamWUpdateAt } from './adamw-fail.js';

const INSTR = ['remove the red circle', 'paint the square blue', 'move the triangle left'];

class Prompts implements PromptSource {
  promptsAt(step: number, count: number): RlPrompt[] {
    return Array.from({ length: count }, (_, p) => ({ id: `${step}/${p}`, source: picture(100 + ((step * 7 + p) % 5)), instruction: INSTR[(step + p) % 3] }));
  }
}

/** The toy reward: the mean brightness of the edited image, 0..10. */
class Brightness implements Judge {
  readonly identity = { kind: 'brightness', version: 'test' };
  calls = 0;
  async score(items: readonly JudgeItem[]): Promise<Verdict[]> {
    this.calls++;
    return items.map((it) => ({ id: it.id, ok: true, overall: (10 * it.edited.data.reduce((a, b) => a + b, 0)) / (255 * it.edited.data.length), reasons: [] }));
  }
}

function micro(seed = 5): MotModel {
  const m = MotModel.create(microCfg, { seed: 1 });
  randomizeParams(m, seed, { scale: 0.4 });
  return m;
}

const rl = (o: Record<string, unknown> = {}): RlConfig => {
  const { out: _o, minutes: _m, categories: _c, evalFraction: _e, ...c } = parseRlConfig({ prompts: 2, groupSize: 4, cot: 'none', rolloutSteps: 6, sde: { size: 2, within: 3 }, cfgText: 3, cfgImg: 1.5, ...o });
  return c;
};

describe('RL config', () => {
  it("defaults are Flow-GRPO's BAGEL settings with Meta-CoT's early window; the window must fit the rollout", () => {
    const c = parseRlConfig({});
    expect([c.clipRange, c.beta, c.sde.noiseLevel, c.groupSize, c.globalStd, c.timestepShift, c.lr]).toEqual([1e-5, 0, 1.3, 24, false, 3, 1e-4]);
    expect([c.rolloutSteps, c.sde.size, c.sde.within, c.cfgText, c.cfgImg]).toEqual([10, 2, 5, 4, 2]);
    expect(() => parseRlConfig({ sde: { size: 6 } })).toThrow("config: field 'sde.size': expected a window of at most sde.within = 5 steps, received 6");
    expect(() => parseRlConfig({ rolloutSteps: 4 })).toThrow("config: field 'sde': expected the SDE window inside steps 0..2 of 4 rollout steps, received steps 0..4");
    expect(() => parseRlConfig({ sde: { start: 8 } })).toThrow("config: field 'sde': expected the SDE window inside steps 0..8 of 10 rollout steps, received steps 8..9");
    expect(() => parseRlConfig({ sde: { start: 7 } })).not.toThrow();
    expect(() => parseRlConfig({ bogus: 1 })).toThrow("config: field '(root)'");
  });

  it('the SDE window start: fixed, or drawn per step inside [0, within - size], covering it', () => {
    expect(sdeStartAt({ seed: 1, sde: { mode: 'sde', noiseLevel: 1, size: 2, within: 5, start: 3 } }, 9)).toBe(3);
    const starts = new Set(Array.from({ length: 200 }, (_, s) => sdeStartAt({ seed: 1, sde: { mode: 'sde', noiseLevel: 1, size: 2, within: 5 } }, s)));
    expect([...starts].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('the CFG chain rule', () => {
  for (const [sT, sI, active] of [[4, 2, true], [3, 1, true], [2.5, 0.5, true], [4, 2, false]] as const)
    it(`coefficients (sText ${sT}, sImg ${sI}${active ? '' : ', outside the interval'}) reproduce cfg_combine without renorm`, () => {
      const [a, b, c] = [1, 2, 3].map((s) => randArray(24, s));
      const k = cfgCoefficients(sT, sI, active);
      const want = Array.from(a, (_, j) => k[0] * a[j] + k[1] * b[j] + k[2] * c[j]);
      if (!active) {
        expect(k).toEqual([1, 0, 0]);
        return;
      }
      using ta = Tensor.from(Float32Array.from(a), [4, 6]);
      using tb = Tensor.from(Float32Array.from(b), [4, 6]);
      using tc = Tensor.from(Float32Array.from(c), [4, 6]);
      using out = Tensor.zeros([4, 6]);
      cfgCombine(ta, tb, tc, out, sT, sI, 'channel', 1);
      const got = out.download();
      want.forEach((w, j) => expect(got[j]).toBeCloseTo(w, 4));
    });
});

describe('advantages', () => {
  it('per group, with a failed verdict left out (A = 0) and an all-equal group flagged', () => {
    const r = Float64Array.from([1, 3, Number.NaN, 2, 5, 5, 5, 5]);
    const a = advantages(r, [0, 0, 0, 0, 1, 1, 1, 1], { globalStd: false, advClipMax: 5, stdThreshold: 0 });
    const std = Math.sqrt(((1 - 2) ** 2 + (3 - 2) ** 2 + 0) / 3);
    expect(a.adv[0]).toBeCloseTo(-1 / (std + 1e-4), 4);
    expect(a.adv[1]).toBeCloseTo(1 / (std + 1e-4), 4);
    expect(a.adv[2]).toBe(0);
    expect(a.adv[3]).toBeCloseTo(0, 6);
    expect(Array.from(a.adv.subarray(4))).toEqual([0, 0, 0, 0]);
    expect(a.zeroStdRatio).toBeCloseTo(0.5, 6);
    expect(a.mean).toBeCloseTo(26 / 7, 5);
    const none = advantages(Float64Array.from([Number.NaN, Number.NaN]), [0, 0], { globalStd: false, advClipMax: 5, stdThreshold: 0 });
    expect(Array.from(none.adv)).toEqual([0, 0]);
    expect(none.zeroStdRatio).toBe(1);
  });
});

describe('policy gradients', () => {
  it('on-policy the recomputed log-probabilities are the rollout\'s (ratio 1, nothing clipped)', async () => {
    using model = micro();
    const c = rl();
    const rs = await rolloutStep(model, ctx, c, new Prompts().promptsAt(0, 2), 0);
    expect(rs).toHaveLength(8);
    const adv = Float32Array.from(rs, (_, i) => (i % 2 ? 1 : -1));
    model.zeroGrad();
    const ps = await policyGradients(model, null, ctx, c, rs, adv);
    const trained = rs[0].output.steps!.map((s, i) => (s.mode === 'sde' ? i : -1)).filter((i) => i >= 0);
    expect(trained).toEqual([sdeStartAt(c, 0), sdeStartAt(c, 0) + 1]);
    trained.forEach((i, k) => rs.forEach((r, j) => expect(Math.abs(ps.logp[k][j] - r.output.steps![i].logp)).toBeLessThan(2e-6)));
    expect(ps.clipFrac).toBe(0);
    expect(Math.abs(ps.approxKl)).toBeLessThan(1e-9);
    // on-policy the surrogate is -mean(A) = 0 here
    expect(Math.abs(ps.policyLoss)).toBeLessThan(1e-5);
  });

  it("the gradient through the model matches finite differences of the loss, and only the gen expert's parameters get one", async () => {
    using model = micro(8);
    const c = rl({ clipRange: 10, beta: 0 });
    const rs = await rolloutStep(model, ctx, c, new Prompts().promptsAt(1, 2), 1);
    const adv = Float32Array.from(rs, (_, i) => Math.sin(i + 1));
    model.setFrozen({ und: true, gen: false });
    model.zeroGrad();
    await policyGradients(model, null, ctx, c, rs, adv);
    const grads = model.grads!;
    model.layout.forEach((s, i) => {
      const g = grads[i].download();
      const norm = Math.sqrt(g.reduce((a, b) => a + b * b, 0));
      if (s.owner === 'gen') return;
      expect(norm, s.name).toBe(0);
    });
    // the gen parameters with the largest gradients, perturbed one element at a time
    const cand = model.layout.map((s, i) => ({ s, i })).filter(({ s }) => s.owner === 'gen');
    const picks: { i: number; j: number; g: number }[] = [];
    for (const { i } of cand) {
      const g = grads[i].download();
      let j = 0;
      for (let k = 1; k < g.length; k++) if (Math.abs(g[k]) > Math.abs(g[j])) j = k;
      picks.push({ i, j, g: g[j] });
    }
    picks.sort((a, b) => Math.abs(b.g) - Math.abs(a.g));
    const lossAt = async () => {
      model.zeroGrad();
      return (await policyGradients(model, null, ctx, c, rs, adv)).loss;
    };
    let checked = 0;
    for (const p of picks.slice(0, 4)) {
      const w = model.params[p.i].download();
      const h = 2e-3 * Math.max(1, Math.abs(w[p.j]));
      const at = async (d: number) => {
        const w2 = Float32Array.from(w);
        w2[p.j] += d;
        model.params[p.i].upload(w2);
        return lossAt();
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      model.params[p.i].upload(w);
      expect(fd, `${model.layout[p.i].name}[${p.j}]`).toBeCloseTo(p.g, Math.max(0, -Math.floor(Math.log10(Math.abs(p.g))) + 1));
      expect(Math.abs(fd - p.g) / Math.abs(p.g)).toBeLessThan(0.05);
      checked++;
    }
    expect(checked).toBe(4);
  });
  it('beta > 0: KL 0 against an identical reference (same gradient as beta 0), > 0 against another, added to the loss', async () => {
    using model = micro(6);
    using same = micro(6);
    using other = micro(7);
    const c0 = rl({ clipRange: 10 });
    const rs = await rolloutStep(model, ctx, c0, new Prompts().promptsAt(2, 2), 2);
    const adv = Float32Array.from(rs, (_, i) => Math.cos(i));
    const gradsOf = async (ref: MotModel | null, beta: number) => {
      model.zeroGrad();
      const ps = await policyGradients(model, ref, ctx, { ...c0, beta }, rs, adv);
      return { ps, g: model.grads!.map((t) => t.download()) };
    };
    const base = await gradsOf(null, 0);
    const self = await gradsOf(same, 0.5);
    expect(Math.abs(self.ps.kl)).toBeLessThan(1e-9);
    self.g.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - base.g[i][j])).toBeLessThan(1e-6 + 1e-4 * Math.abs(base.g[i][j]))));
    const far = await gradsOf(other, 0.5);
    expect(far.ps.kl).toBeGreaterThan(1e-3);
    expect(far.ps.loss).toBeCloseTo(far.ps.policyLoss + 0.5 * far.ps.kl, 5);
    expect(far.g.some((g, i) => g.some((v, j) => Math.abs(v - base.g[i][j]) > 1e-4))).toBe(true);
    await expect(policyGradients(model, null, ctx, { ...c0, beta: 0.5 }, rs, adv)).rejects.toThrow('policyGradients: beta > 0 needs the reference policy');
  });
});

describe('runRl', () => {
  const out = () => mkdtempSync(join(tmpdir(), 'rl-'));

  it('raises a toy reward (mean brightness) within 12 steps, training only the gen expert', async () => {
    using model = micro(3);
    const before = model.params.map((p) => p.download());
    const judge = new Brightness();
    const c = rl({ steps: 12, lr: 3e-3, clipRange: 0.2, groupSize: 6 });
    const r = await runRl({ outDir: out(), model, ctx, prompts: new Prompts(), judge, cfg: c, quiet: true });
    expect(r.stopped).toBe('done');
    expect(judge.calls).toBe(12);
    const first = r.metrics.slice(0, 3).reduce((a, m) => a + m.rewardMean, 0) / 3;
    const last = r.metrics.slice(-3).reduce((a, m) => a + m.rewardMean, 0) / 3;
    expect(last).toBeGreaterThan(first + 0.3);
    model.layout.forEach((s, i) => {
      const changed = model.params[i].download().some((v, j) => v !== before[i][j]);
      expect(changed, s.name).toBe(s.owner === 'gen');
    });
    expect(model.frozenExperts).toEqual({ und: false, gen: false });
  });

  it('resume reproduces the uninterrupted run exactly; --resume without a checkpoint is refused', async () => {
    const c = rl({ steps: 4, lr: 1e-3, clipRange: 0.2, checkpointEvery: 2 });
    const strip = (ms: { seconds: unknown }[]) => ms.map(({ seconds: _s, ...m }) => m);
    const dirA = out();
    using a = micro(4);
    const ra = await runRl({ outDir: dirA, model: a, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: c, quiet: true });
    const dirB = out();
    using b = micro(4);
    await expect(runRl({ outDir: dirB, model: b, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: c, quiet: true, resume: true })).rejects.toThrow(
      `--resume: there is no checkpoint to resume from at '${join(dirB, 'checkpoint.safetensors')}'`,
    );
    await runRl({ outDir: dirB, model: b, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: c, quiet: true, onStep: (m) => (m.step === 2 ? 'stop' : undefined) });
    using b2 = micro(99);
    const rb = await runRl({ outDir: dirB, model: b2, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: c, quiet: true, resume: true });
    expect(rb.metrics.map((m) => m.step)).toEqual([3, 4]);
    expect(strip(rb.metrics)).toEqual(strip(ra.metrics.slice(2)));
    a.params.forEach((p, i) => expect(Array.from(b2.params[i].download())).toEqual(Array.from(p.download())));
    const lines = readFileSync(join(dirB, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(strip(lines)).toEqual(strip(ra.metrics));
    // another config is refused
    using b3 = micro(4);
    await expect(runRl({ outDir: dirB, model: b3, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: { ...c, clipRange: 0.3 }, quiet: true, resume: true })).rejects.toThrow(/rl.clipRange = 0.2/);
  });

  it('beta > 0 needs the reference policy', async () => {
    using model = micro();
    await expect(runRl({ outDir: out(), model, ctx, prompts: new Prompts(), judge: new Brightness(), cfg: rl({ beta: 0.1 }), quiet: true })).rejects.toThrow('runRl: beta > 0 needs the reference policy');
  });
});

describe('RL trainer: behaviour pinned by its definition', () => {
  const outDir = () => mkdtempSync(join(tmpdir(), 'rl-b-'));
  /** a judge scoring by the item's index in the step: group 0 all equal, group 1 spread, `fail` items unscored */
  class ByIndex implements Judge {
    readonly identity = { kind: 'by-index', version: 'test' };
    ids: string[][] = [];
    constructor(
      readonly G: number,
      readonly fail: (i: number) => Verdict | undefined = () => undefined,
      readonly onScore?: (call: number) => void,
    ) {}
    async score(items: readonly JudgeItem[]): Promise<Verdict[]> {
      this.ids.push(items.map((it) => it.id));
      this.onScore?.(this.ids.length);
      return items.map((it, i) => this.fail(i) ?? { id: it.id, ok: true, overall: Math.floor(i / this.G) === 0 ? 5 : i, reasons: [] });
    }
  }
  const sampleOpts = (c: RlConfig, step: number) => ({
    steps: c.rolloutSteps, timestepShift: c.timestepShift, cfgText: c.cfgText, cfgImg: c.cfgImg, cfgInterval: c.cfgInterval,
    renorm: 'channel' as const, renormMin: 1, seed: c.seed,
    sde: { start: sdeStartAt(c, step), size: c.sde.size, mode: c.sde.mode, noiseLevel: c.sde.noiseLevel }, record: true,
  });

  it('a fixed SDE start is used at every step', () => {
    for (let s = 0; s < 30; s++) expect(sdeStartAt({ seed: 2, sde: { mode: 'sde', noiseLevel: 1, size: 1, within: 6, start: 0 } }, s)).toBe(0);
  });

  it("cot 'none': no CoT; rollout p*G+g draws the noise of rolloutKey(seed, step, p*G+g), the same again on replay", async () => {
    using model = micro(5);
    const c = rl({ cot: 'none', prompts: 2, groupSize: 3 });
    const prompts = new Prompts().promptsAt(3, 2);
    const rs = await rolloutStep(model, ctx, c, prompts, 3);
    expect(rs.map((r) => r.cot)).toEqual(Array(6).fill(''));
    expect(rs.map((r) => r.group)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(rs.map((r) => r.prompt.id)).toEqual([0, 0, 0, 1, 1, 1].map((p) => prompts[p].id));
    const want = await sampleBatch(model, ctx, prompts.flatMap((p, pi) => [0, 1, 2].map((g) => ({ source: p.source, instruction: p.instruction, key: rolloutKey(c.seed, 3, pi * 3 + g) }))), sampleOpts(c, 3));
    rs.forEach((r, i) => expect(Array.from(r.output.latents), `rollout ${i}`).toEqual(Array.from(want.outputs[i].latents)));
    // distinct keys: no two rollouts of a step alike
    const lat = rs.map((r) => Array.from(r.output.latents).join(','));
    expect(new Set(lat).size).toBe(6);
    const again = await rolloutStep(model, ctx, c, prompts, 3);
    again.forEach((r, i) => expect(Array.from(r.output.latents)).toEqual(Array.from(rs[i].output.latents)));
  });

  it("cot 'shared': one greedy CoT per prompt (maxCotTokens), the same for its whole group; 'per-rollout': G seeded CoTs at cotTemperature", async () => {
    using model = micro(5);
    const prompts = new Prompts().promptsAt(1, 2);
    const cs = rl({ cot: 'shared', groupSize: 3, maxCotTokens: 3, cotTemperature: 5 });
    const shared = await rolloutStep(model, ctx, cs, prompts, 1);
    const greedy = await thinkBatch(model, ctx, prompts.map((p) => ({ source: p.source, instruction: p.instruction, seed: 0 })), { temperature: 0, maxCotTokens: 3 });
    expect(greedy.some((t) => t.cot.trim() !== '')).toBe(true);
    expect(shared.map((r) => r.cot)).toEqual([0, 0, 0, 1, 1, 1].map((p) => greedy[p].cot));
    const cp = rl({ cot: 'per-rollout', groupSize: 3, maxCotTokens: 3, cotTemperature: 5 });
    const per = await rolloutStep(model, ctx, cp, prompts, 1);
    const wantPer = await thinkBatch(
      model, ctx,
      prompts.flatMap((p, pi) => [0, 1, 2].map((g) => ({ source: p.source, instruction: p.instruction, seed: hashSeed('rl-cot', cp.seed, 1, pi * 3 + g) }))),
      { temperature: 5, maxCotTokens: 3 },
    );
    expect(per.map((r) => r.cot)).toEqual(wantPer.map((t) => t.cot));
    expect(new Set(per.slice(0, 3).map((r) => r.cot)).size).toBeGreaterThan(1);
    expect((await rolloutStep(model, ctx, cp, prompts, 1)).map((r) => r.cot)).toEqual(per.map((r) => r.cot));
    // the training forward conditions on the CoT the rollout used: on-policy ratio 1
    for (const rs of [shared, per]) {
      model.zeroGrad();
      const ps = await policyGradients(model, null, ctx, cs, rs, Float32Array.from(rs, (_, i) => (i % 2 ? 1 : -1)));
      const trained = rs[0].output.steps!.map((s, i) => (s.mode === 'sde' ? i : -1)).filter((i) => i >= 0);
      trained.forEach((i, k) => rs.forEach((r, j) => expect(Math.abs(ps.logp[k][j] - r.output.steps![i].logp)).toBeLessThan(2e-6)));
    }
  });

  it('outside the CFG interval the training forward uses the full context only (on-policy ratio 1)', async () => {
    using model = micro(5);
    const c = rl({ cfgInterval: [0, 0.01], sde: { size: 2, within: 3, start: 0 } });
    const rs = await rolloutStep(model, ctx, c, new Prompts().promptsAt(0, 2), 0);
    model.zeroGrad();
    const ps = await policyGradients(model, null, ctx, c, rs, Float32Array.from(rs, (_, i) => (i % 2 ? 1 : -1)));
    [0, 1].forEach((i, k) => rs.forEach((r, j) => expect(Math.abs(ps.logp[k][j] - r.output.steps![i].logp)).toBeLessThan(2e-6)));
  });

  it('the loss is the mean over the window; microBatch > 0 gives the gradients and stats of all at once, in chunks', async () => {
    using model = micro(8);
    const c = rl({ clipRange: 10, sde: { size: 2, within: 3, start: 0 } });
    const rs = await rolloutStep(model, ctx, c, new Prompts().promptsAt(1, 2), 1);
    model.zeroGrad();
    const ones = await policyGradients(model, null, ctx, c, rs, new Float32Array(rs.length).fill(1));
    // on-policy the surrogate is -mean(A) at every step, so its mean over the window is -1
    expect(ones.policyLoss).toBeCloseTo(-1, 4);
    const adv = Float32Array.from(rs, (_, i) => Math.sin(i + 1));
    const run = async (microBatch: number) => {
      model.zeroGrad();
      const spy = vi.spyOn(model, 'forwardHeads');
      try {
        const ps = await policyGradients(model, null, ctx, { ...c, microBatch }, rs, adv);
        return { ps, calls: spy.mock.calls.length, g: model.grads!.map((t) => t.download()) };
      } finally {
        spy.mockRestore();
      }
    };
    const all = await run(0);
    const chunked = await run(3);
    expect(all.calls).toBe(2);
    expect(chunked.calls).toBe(2 * 3);
    for (const k of ['loss', 'policyLoss', 'kl', 'clipFrac', 'approxKl'] as const) expect(chunked.ps[k]).toBeCloseTo(all.ps[k], 6);
    chunked.ps.logp.forEach((l, k) => l.forEach((v, j) => expect(v).toBeCloseTo(all.ps.logp[k][j], 5)));
    let big = 0;
    all.g.forEach((g, i) => g.forEach((v, j) => ((big = Math.max(big, Math.abs(v))), expect(Math.abs(chunked.g[i][j] - v)).toBeLessThan(1e-6 + 1e-4 * Math.abs(v)))));
    expect(big).toBeGreaterThan(0);
  });

  it('off-policy the clip fraction and the approximate KL are positive means', async () => {
    using old = micro(8);
    using model = micro(9);
    const c = rl({ clipRange: 1e-3, sde: { size: 2, within: 3, start: 0 } });
    const rs = await rolloutStep(old, ctx, c, new Prompts().promptsAt(1, 2), 1);
    model.zeroGrad();
    const ps = await policyGradients(model, null, ctx, { ...c, microBatch: 3 }, rs, Float32Array.from(rs, (_, i) => Math.sin(i + 1)));
    expect(ps.clipFrac).toBeGreaterThan(0);
    expect(ps.clipFrac).toBeLessThanOrEqual(1);
    expect(ps.approxKl).toBeGreaterThan(0);
  });

  it('policyGradients refuses rollouts without SDE step records', async () => {
    using model = micro(5);
    const c = rl();
    await expect(policyGradients(model, null, ctx, c, [], new Float32Array(0))).rejects.toThrow('policyGradients: the rollouts hold no SDE step records');
    const rs = await rolloutStep(model, ctx, c, new Prompts().promptsAt(0, 1), 0);
    const bare = rs.map((r) => ({ ...r, output: { ...r.output, steps: undefined } }));
    await expect(policyGradients(model, null, ctx, c, bare, new Float32Array(bare.length))).rejects.toThrow('policyGradients: the rollouts hold no SDE step records');
  });

  it('judge items are `${step}:${index}`; a failed verdict is no reward (A = 0, counted); advantages are per group', async () => {
    using model = micro(5);
    const G = 4;
    const judge = new ByIndex(G, (i) => (i === 5 ? { id: '', ok: false, overall: 9, reasons: [] } : i === 6 ? { id: '', ok: true, reasons: [] } : undefined));
    const c = rl({ steps: 2, groupSize: G, sde: { size: 1, within: 4 } });
    const r = await runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge, cfg: c, quiet: true });
    expect(judge.ids).toEqual([0, 1].map((s) => Array.from({ length: 8 }, (_, i) => `${s}:${i}`)));
    // group 0 all 5 (zero std, not trained); group 1 scored at 4 and 7 (5 and 6 failed)
    for (const m of r.metrics) {
      expect(m.judgeFailures).toBe(2);
      expect(m.trained).toBe(2);
      expect(m.zeroStdRatio).toBeCloseTo(0.5, 6);
      expect(m.rewardMean).toBeCloseTo((5 * 4 + 4 + 7) / 6, 5);
      expect(m.sdeStart).toBe(sdeStartAt(c, m.step - 1));
      expect('judgeCalibrated' in m).toBe(false);
    }
  });

  it('metrics: sdeStart is the window of the step just run; judgeCalibrated when given; logEvery lines and the last', async () => {
    using model = micro(5);
    const c = rl({ steps: 5, logEvery: 2, sde: { size: 1, within: 4 } });
    const dir = outDir();
    const r = await runRl({ outDir: dir, model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, judgeCalibrated: false });
    expect(r.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    r.metrics.forEach((m) => expect(m.sdeStart).toBe(sdeStartAt(c, m.step - 1)));
    // the draws differ from those of the next step somewhere (so step - 1 is pinned)
    expect(r.metrics.some((m) => sdeStartAt(c, m.step) !== sdeStartAt(c, m.step - 1))).toBe(true);
    r.metrics.forEach((m) => expect(m.judgeCalibrated).toBe(false));
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([2, 4, 5]);
    expect(lines.every((l) => l.judgeCalibrated === false)).toBe(true);
  });

  it('checkpoints every checkpointEvery steps before the last, and once at the end; the messages', async () => {
    using model = micro(5);
    const c = rl({ steps: 5, checkpointEvery: 2, sde: { size: 1, within: 4 } });
    const dir = outDir();
    const ck = join(dir, 'checkpoint.safetensors');
    const seen: (number | null)[] = [];
    const r = await runRl({ outDir: dir, model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, onStep: () => void seen.push(existsSync(ck) ? loadCheckpoint(ck).step : null) });
    expect(seen).toEqual([null, 2, 2, 4, 4]);
    expect(loadCheckpoint(ck).step).toBe(5);
    expect(r).toMatchObject({ steps: 5, stopped: 'done', lastCheckpoint: ck, message: `finished 5 RL steps; checkpoint ${ck}` });
    using m2 = micro(5);
    const dir2 = outDir();
    const ck2 = join(dir2, 'checkpoint.safetensors');
    const s = await runRl({ outDir: dir2, model: m2, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, onStep: (m) => (m.step === 3 ? 'stop' : undefined) });
    expect(s).toMatchObject({ steps: 3, stopped: 'interrupted', lastCheckpoint: ck2, message: `stopped at RL step 3; checkpoint ${ck2} (resume with --resume)` });
    expect(loadCheckpoint(ck2).step).toBe(3);
  });

  it('the last step is saved once, after onStep, even when it falls on the cadence', async () => {
    using model = micro(5);
    const dir = outDir();
    const ck = join(dir, 'checkpoint.safetensors');
    const seen: (number | null)[] = [];
    await runRl({ outDir: dir, model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: rl({ steps: 4, checkpointEvery: 2, sde: { size: 1, within: 4 } }), quiet: true, onStep: () => void seen.push(existsSync(ck) ? loadCheckpoint(ck).step : null) });
    expect(seen).toEqual([null, 2, 2, 2]);
    expect(loadCheckpoint(ck).step).toBe(4);
  });

  it('an aborted signal interrupts before the next step', async () => {
    using model = micro(5);
    const c = rl({ steps: 4, sde: { size: 1, within: 4 } });
    const pre = new AbortController();
    pre.abort();
    const dir = outDir();
    const r0 = await runRl({ outDir: dir, model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, signal: pre.signal });
    expect(r0).toMatchObject({ steps: 0, stopped: 'interrupted', metrics: [] });
    const mid = new AbortController();
    const judge = new ByIndex(4, undefined, (n) => n === 2 && mid.abort());
    const r = await runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge, cfg: c, quiet: true, signal: mid.signal });
    expect(r).toMatchObject({ steps: 2, stopped: 'interrupted' });
    expect(judge.ids).toHaveLength(2);
  });

  it('a model that turns non-finite stops the run as nan, naming the step and the last good checkpoint', async () => {
    using model = micro(5);
    const c = rl({ steps: 4, checkpointEvery: 1, sde: { size: 1, within: 4 } });
    const poison = () => model.layout.forEach((s, i) => s.owner === 'gen' && model.params[i].upload(new Float32Array(model.params[i].numel).fill(Number.NaN)));
    const dir = outDir();
    const ck = join(dir, 'checkpoint.safetensors');
    const r = await runRl({ outDir: dir, model, ctx, prompts: new Prompts(), judge: new ByIndex(4, undefined, (n) => n === 2 && poison()), cfg: c, quiet: true });
    expect(r.stopped).toBe('nan');
    expect(r.steps).toBe(1);
    expect(r.lastCheckpoint).toBe(ck);
    expect(r.message).toMatch(new RegExp(`^RL stopped at step 2: grpo_loss is not finite at step \\d+: .*NaN.*\\. The last good checkpoint is ${ck.replace(/[.]/g, '\\.')}; nothing after it was saved\\.$`));
    expect(loadCheckpoint(ck).step).toBe(1);
    expect(model.frozenExperts).toEqual({ und: false, gen: false });
    using m2 = micro(5);
    const poison2 = () => m2.layout.forEach((s, i) => s.owner === 'gen' && m2.params[i].upload(new Float32Array(m2.params[i].numel).fill(Number.NaN)));
    const r2 = await runRl({ outDir: outDir(), model: m2, ctx, prompts: new Prompts(), judge: new ByIndex(4, undefined, () => poison2()), cfg: c, quiet: true });
    expect(r2).toMatchObject({ steps: 0, stopped: 'nan', lastCheckpoint: null });
    expect(r2.message).toMatch(/^RL stopped at step 1: grpo_loss is not finite .*The last good checkpoint is \(none: no checkpoint was written yet\); nothing after it was saved\.$/);
  });

  it('without resume a run in a used directory starts afresh; resume trims metrics past the checkpoint, skips blank lines, survives a missing file', async () => {
    const c = rl({ steps: 4, checkpointEvery: 2, sde: { size: 1, within: 4 } });
    const dir = outDir();
    const metricsPath = join(dir, 'metrics.jsonl');
    using a = micro(4);
    await runRl({ outDir: dir, model: a, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, onStep: (m) => (m.step === 2 ? 'stop' : undefined) });
    using b = micro(4);
    const fresh = await runRl({ outDir: dir, model: b, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, onStep: (m) => (m.step === 2 ? 'stop' : undefined) });
    expect(fresh.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(readFileSync(metricsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).toEqual([1, 2]);
    // a line past the checkpoint (step 3) and whitespace-only lines: dropped on resume
    appendFileSync(metricsPath, `   \n${JSON.stringify({ ...fresh.metrics[1], step: 3 })}\n\n`);
    using c2 = micro(4);
    const r = await runRl({ outDir: dir, model: c2, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, resume: 'or-start' });
    expect(r.metrics.map((m) => m.step)).toEqual([3, 4]);
    expect(readFileSync(metricsPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).step)).toEqual([1, 2, 3, 4]);
    // resume with the metrics file gone: only the resumed steps' lines
    const dir2 = outDir();
    using d = micro(4);
    await runRl({ outDir: dir2, model: d, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, onStep: (m) => (m.step === 2 ? 'stop' : undefined) });
    rmSync(join(dir2, 'metrics.jsonl'));
    using e = micro(4);
    const r2 = await runRl({ outDir: dir2, model: e, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true, resume: true });
    expect(r2.metrics.map((m) => m.step)).toEqual([3, 4]);
    expect(readFileSync(join(dir2, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).toEqual([3, 4]);
    // --resume-or-start with nothing there starts
    using f = micro(4);
    const r3 = await runRl({ outDir: outDir(), model: f, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: { ...c, steps: 1 }, quiet: true, resume: 'or-start' });
    expect(r3.metrics.map((m) => m.step)).toEqual([1]);
  });

  it('beta > 0 trains against the given reference (KL in the metrics)', async () => {
    using model = micro(5);
    using ref = micro(7);
    const r = await runRl({ outDir: outDir(), model, reference: ref, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: rl({ steps: 1, beta: 0.5, sde: { size: 1, within: 4 } }), quiet: true });
    expect(r.stopped).toBe('done');
    expect(r.metrics[0].kl).toBeGreaterThan(1e-3);
  });

  it('an error other than a non-finite one propagates out of runRl (the experts unfrozen again)', async () => {
    using model = micro(5);
    const judge: Judge = { identity: { kind: 'broken', version: 'test' }, score: async () => Promise.reject(new Error('judge down')) };
    await expect(runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge, cfg: rl({ steps: 2 }), quiet: true })).rejects.toThrow('judge down');
    expect(model.frozenExperts).toEqual({ und: false, gen: false });
  });

  it('a non-finite gradient norm (E_NAN from the AdamW step) stops the run as "nan"; any other AdamW error rejects the run', async () => {
    const c = rl({ steps: 3, checkpointEvery: 100, sde: { size: 1, within: 4 } });
    const nanErr = Object.assign(new Error('adamw: global gradient norm is nan'), { code: 'E_NAN' });
    let spy = failAdamWUpdateAt(2, nanErr);
    try {
      using model = micro(5);
      const r = await runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true });
      expect(r).toMatchObject({ stopped: 'nan', steps: 1, lastCheckpoint: null });
      expect(r.message).toBe('RL stopped at step 2: gradient norm is not finite: adamw: global gradient norm is nan. The last good checkpoint is (none: no checkpoint was written yet); nothing after it was saved.');
    } finally {
      spy.mockRestore();
    }
    const other = Object.assign(new Error('adamw: argument lr expected a finite number'), { code: 'E_ARG' });
    spy = failAdamWUpdateAt(1, other);
    try {
      using model = micro(5);
      let caught: unknown;
      await runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: c, quiet: true }).catch((e: unknown) => {
        caught = e;
      });
      expect(caught).toBe(other);
    } finally {
      spy.mockRestore();
    }
  });

  it('the noise keys and SDE starts are named hash streams (a recorded run replays with a later version)', () => {
    expect(rolloutKey(1, 3, 4)).toBe(hashSeed('rl-noise', 1, 3, 4) | 0);
    const c = rl({ sde: { size: 1, within: 4 } });
    for (let s = 0; s < 6; s++) expect(sdeStartAt(c, s)).toBe(hashSeed('rl-sde', c.seed, s) % 4);
  });

  it("the optimizer takes the config's settings (weight decay changes the step)", async () => {
    const after = async (weightDecay: number) => {
      using model = micro(5);
      await runRl({ outDir: outDir(), model, ctx, prompts: new Prompts(), judge: new ByIndex(4), cfg: rl({ steps: 1, lr: 1e-2, weightDecay, sde: { size: 1, within: 4 } }), quiet: true });
      return model.params.map((t) => Array.from(t.download()));
    };
    expect(await after(0.5)).not.toEqual(await after(0));
  });

  it('readRlConfig: unreadable JSON and invalid fields name the file', () => {
    const dir = outDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => readRlConfig(bad)).toThrow(new RegExp(`^--config: cannot read '${bad.replace(/[.]/g, '\\.')}' as JSON: `));
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ groupSize: 1 }));
    expect(() => readRlConfig(wrong)).toThrow(`--config ${wrong}: field 'groupSize': `);
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify({ groupSize: 3 }));
    expect(readRlConfig(ok).groupSize).toBe(3);
  });

  it('config: a window as wide as within is allowed; a fixed start lifts the within bound', () => {
    expect(() => parseRlConfig({ sde: { size: 5, within: 5 } })).not.toThrow();
    expect(() => parseRlConfig({ sde: { size: 3, within: 2, start: 0 } })).not.toThrow();
    expect(() => parseRlConfig({ rolloutSteps: 4, sde: { size: 1, within: 1, start: 3 } })).toThrow("config: field 'sde': expected the SDE window inside steps 0..2 of 4 rollout steps, received steps 3..3");
    expect(() => parseRlConfig({ rolloutSteps: 4, sde: { size: 1, within: 1, start: 2 } })).not.toThrow();
  });
});
