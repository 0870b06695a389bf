// The Flow-GRPO trainer (src/train/rl.ts) on the sampler tests' micro model: the CFG chain rule, the
// on-policy ratio, the gradient through the model against finite differences, which parameters
// learn, a toy reward that RL must raise, exact resume, and the refusals.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { Judge, JudgeItem, Verdict } from '../../src/judge/types.js';
import { MotModel } from '../../src/model/model.js';
import { Tensor } from '../../src/native/tensor.js';
import { cfgCombine } from '../../src/ops/sampler.js';
import { parseRlConfig } from '../../src/train/rl-config.js';
import { type PromptSource, type RlConfig, type RlPrompt, advantages, cfgCoefficients, policyGradients, rolloutStep, runRl, sdeStartAt } from '../../src/train/rl.js';
import { randomizeParams } from '../model/fixtures.js';
import { randArray } from '../helpers.js';
import { cfg as microCfg, ctx, picture } from '../sample/fixture.js';

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
