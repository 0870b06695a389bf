// Stage 2 of Meta-CoT: Flow-GRPO (DESIGN.md section 4) on the gen expert.
//
// One RL step:
//   rollout  P prompts, a group of G rollouts each: CoTs (one per group, one per rollout, or none) by
//            thinkBatch, then all P*G images by the batched sampler, ODE steps except an SDE window of
//            early steps where x_t, the transition's mean and log-probability are recorded;
//   judge    rewards = the judge's overall score per rollout (a failed verdict: no reward, left out);
//   update   group-normalised advantages (grpo_advantages); for each SDE step of the window, the
//            rollouts' training forward at (x_t, t) under the same three CFG contexts the rollout
//            used, grpo_loss's clipped surrogate (+ beta KL to the frozen reference's mean) and its
//            dloss/dv, carried through the linear CFG combination back to each context's velocity
//            rows and into model.backward({ dvel }); the loss is the mean over the window's steps,
//            one AdamW step over the gen expert's parameters (und expert and shared embedding frozen).
//
// The rollouts run CFG with renormMin = 1, i.e. without renormalisation: the guided velocity is then
// a fixed linear combination of the three contexts' velocities (BAGEL's two-scale rule), which the
// training forward reproduces exactly (ratio 1 on-policy) and whose chain rule is a per-context
// scale. Everything that decides a step (prompts, CoT sampling seeds, noise keys, the SDE window) is a
// pure function of (seed, step), so a resumed run repeats the uninterrupted one exactly.
//
// Where it runs: the model's forward and backward, cfg_combine, flow_step and grpo_loss on the
// model's device; the split of the heads' velocity rows into the three contexts and the chain rule's
// per-context scaling of dloss/dv go through host memory (one download and one upload per trained
// step and micro-batch).
import { appendFileSync } from 'node:fs';

import { packSamples } from '../data/pack.js';
import { type SampleContext, editContext } from '../data/samples.js';
import type { Judge, JudgeItem } from '../judge/types.js';
import { loadCheckpoint, loadInto, restoreOptimizer, saveCheckpoint } from '../model/checkpoint.js';
import type { MotModel } from '../model/model.js';
import { Tensor } from '../native/tensor.js';
import { grpoAdvantages, grpoLoss } from '../ops/grpo.js';
import { cfgCombine, flowStep } from '../ops/sampler.js';
import { type BatchEditOutput, sampleBatch } from '../sample/batch.js';
import { thinkBatch } from '../sample/edit.js';
import { guidanceActive, odeSchedule } from '../sample/ode.js';
import { Progress } from '../util/progress.js';
import type { RgbImage } from '../world/image.js';
import { hashSeed } from '../world/rng.js';
import type { Scene } from '../world/scene.js';
import { AdamW } from './optimizer.js';
import { checkResumable } from './resume.js';
import { openRunFolder, restartMetrics } from './run-folder.js';
import type { RlFileConfig } from './rl-config.js';
import { NonFiniteError } from './accumulate.js';

export interface RlPrompt {
  id: string;
  source: RgbImage;
  instruction: string;
  sourceScene?: Scene;
  targetScene?: Scene;
  category?: string;
}

/** The prompts of an RL step: a pure function of the step (resume repeats them). */
export interface PromptSource {
  promptsAt(step: number, count: number): RlPrompt[];
}

/** The part of the file config the trainer reads. */
export type RlConfig = Omit<RlFileConfig, 'out' | 'minutes' | 'categories' | 'evalFraction'>;

export interface RlMetrics {
  step: number;
  rewardMean: number;
  rewardStd: number;
  /** share of groups whose rewards are all equal (their advantages are 0, they do not train) */
  zeroStdRatio: number;
  /** rollouts the judge could not score */
  judgeFailures: number;
  /** rollouts in the update (non-zero advantage) */
  trained: number;
  loss: number;
  policyLoss: number;
  kl: number;
  clipFrac: number;
  approxKl: number;
  gradNorm: number;
  lr: number;
  sdeStart: number;
  /** false: the judge did not pass its calibration gate and was let through (--allow-uncalibrated) */
  judgeCalibrated?: boolean;
  seconds: { rollout: number; judge: number; update: number; total: number };
}

export interface RlRun {
  outDir: string;
  model: MotModel;
  /** the frozen reference policy (read when beta > 0) */
  reference?: MotModel | null;
  ctx: SampleContext;
  prompts: PromptSource;
  judge: Judge;
  cfg: RlConfig;
  tokenizer?: unknown;
  /** extra state saved with checkpoints and compared on resume (the starting checkpoint, the judge) */
  meta?: Record<string, unknown>;
  /** written into every metrics line (false: an uncalibrated judge let through) */
  judgeCalibrated?: boolean;
  resume?: boolean | 'or-start';
  quiet?: boolean;
  onStep?: (m: RlMetrics) => void | 'stop';
  signal?: AbortSignal;
}

export interface RlResult {
  steps: number;
  stopped: 'done' | 'interrupted' | 'nan';
  message: string;
  lastCheckpoint: string | null;
  metrics: RlMetrics[];
}

/** The first step of the SDE window at an RL step: fixed, or drawn from [0, within - size]. */
export function sdeStartAt(cfg: Pick<RlConfig, 'seed' | 'sde'>, step: number): number {
  if (cfg.sde.start !== undefined) return cfg.sde.start;
  const span = cfg.sde.within - cfg.sde.size + 1;
  return hashSeed('rl-sde', cfg.seed, step) % span;
}

/** The noise key of rollout `index` of an RL step. */
export const rolloutKey = (seed: number, step: number, index: number): number => hashSeed('rl-noise', seed, step, index) | 0;

export interface Rollout {
  prompt: RlPrompt;
  /** the prompt's index in the step (its group) */
  group: number;
  cot: string;
  output: BatchEditOutput;
}

/** The rollout phase of one RL step: CoTs, then every image of every group in one batched sampling. */
export async function rolloutStep(model: MotModel, ctx: SampleContext, cfg: RlConfig, prompts: readonly RlPrompt[], step: number): Promise<Rollout[]> {
  const G = cfg.groupSize;
  const index = (p: number, g: number) => p * G + g;
  let cots: string[];
  if (cfg.cot === 'none') cots = Array(prompts.length * G).fill('');
  else if (cfg.cot === 'shared') {
    const th = await thinkBatch(
      model,
      ctx,
      prompts.map((p, i) => ({ source: p.source, instruction: p.instruction, seed: hashSeed('rl-cot', cfg.seed, step, i) })),
      { temperature: 0, maxCotTokens: cfg.maxCotTokens },
    );
    cots = prompts.flatMap((_, p) => Array<string>(G).fill(th[p].cot));
  } else {
    const th = await thinkBatch(
      model,
      ctx,
      prompts.flatMap((p, pi) => Array.from({ length: G }, (_, g) => ({ source: p.source, instruction: p.instruction, seed: hashSeed('rl-cot', cfg.seed, step, index(pi, g)) }))),
      { temperature: cfg.cotTemperature, maxCotTokens: cfg.maxCotTokens },
    );
    cots = th.map((t) => t.cot);
  }
  const requests = prompts.flatMap((p, pi) => Array.from({ length: G }, (_, g) => ({ source: p.source, instruction: p.instruction, cot: cots[index(pi, g)], key: rolloutKey(cfg.seed, step, index(pi, g)) })));
  const res = await sampleBatch(model, ctx, requests, {
    steps: cfg.rolloutSteps,
    timestepShift: cfg.timestepShift,
    cfgText: cfg.cfgText,
    cfgImg: cfg.cfgImg,
    cfgInterval: cfg.cfgInterval,
    renorm: 'channel',
    renormMin: 1,
    seed: cfg.seed,
    sde: { start: sdeStartAt(cfg, step), size: cfg.sde.size, mode: cfg.sde.mode, noiseLevel: cfg.sde.noiseLevel },
    record: true,
  });
  return res.outputs.map((output, i) => ({ prompt: prompts[Math.floor(i / G)], group: Math.floor(i / G), cot: cots[i], output }));
}

/** The guided velocity's coefficients on (full, noText, noImage) under BAGEL's rule without renorm. */
export function cfgCoefficients(cfgText: number, cfgImg: number, active: boolean): [number, number, number] {
  if (!active) return [1, 0, 0];
  if (cfgImg > 1) return [cfgImg * cfgText, cfgImg * (1 - cfgText), 1 - cfgImg];
  return [cfgText, 1 - cfgText, 0];
}

export interface PolicyStats {
  loss: number;
  policyLoss: number;
  kl: number;
  clipFrac: number;
  approxKl: number;
  /** per trained step, per rollout: the recomputed log-probabilities (ratio = exp(logp - logpOld)) */
  logp: Float32Array[];
}

/**
 * Accumulates into model.grads the gradient of the Flow-GRPO loss of `rollouts` with advantages
 * `adv`, averaged over the recorded SDE steps (see the file comment). The caller zeroes the
 * gradients first. The rollouts must carry their step records (sampleBatch's `record`).
 */
export async function policyGradients(
  model: MotModel,
  reference: MotModel | null,
  ctx: SampleContext,
  cfg: Pick<RlConfig, 'rolloutSteps' | 'timestepShift' | 'cfgText' | 'cfgImg' | 'cfgInterval' | 'sde' | 'clipRange' | 'beta' | 'microBatch'>,
  rollouts: readonly Rollout[],
  adv: Float32Array,
): Promise<PolicyStats> {
  const C = ctx.dims.latentChannels;
  const ts = odeSchedule(cfg.rolloutSteps, cfg.timestepShift);
  const trained = rollouts[0]?.output.steps?.map((s, i) => ({ s, i })).filter(({ s }) => s.mode !== 'ode').map(({ i }) => i) ?? [];
  if (trained.length === 0) throw new Error('policyGradients: the rollouts hold no SDE step records (sample them with an SDE window and record: true)');
  const stats: PolicyStats = { loss: 0, policyLoss: 0, kl: 0, clipFrac: 0, approxKl: 0, logp: [] };
  const chunk = cfg.microBatch > 0 ? cfg.microBatch : rollouts.length;
  const B = rollouts.length;
  const device = model.device;
  for (const i of trained) {
    const t = ts[i];
    const active = guidanceActive({ ...cfg, renorm: 'channel', renormMin: 1 }, t);
    const coef = cfgCoefficients(cfg.cfgText, cfg.cfgImg, active);
    const logpAll = new Float32Array(B);
    for (let c0 = 0; c0 < B; c0 += chunk) {
      const part = rollouts.slice(c0, c0 + chunk);
      const share = part.length / B;
      // the training layout of each (rollout, context): the context, then [vision_start x_t vision_end]
      const kinds = active ? 3 : 1;
      const samples = part.flatMap((r) => {
        const rec = r.output.steps![i];
        const grid = ctx.codec.encode(r.prompt.source);
        const cot = r.cot.trim() === '' ? undefined : r.cot;
        const conds = [{ source: r.prompt.source, instruction: r.prompt.instruction, cot }, { source: r.prompt.source }, { instruction: r.prompt.instruction, cot }].slice(0, kinds);
        return conds.map((cd) => editContext(cd, ctx).noisyImage({ rows: grid.rows, cols: grid.cols, dim: C, data: Float32Array.from(rec.x) }, t).build());
      });
      const batch = packSamples(samples);
      const rows = part.map((r) => r.output.steps![i].x.length / C);
      const offsets = [0];
      for (const n of rows) offsets.push(offsets[offsets.length - 1] + n);
      const N = offsets[part.length];
      // the heads' velocity rows are (rollout, kind)-major: split them into one [N, C] per kind
      const split = (vel: Float32Array) => {
        const per = Array.from({ length: 3 }, () => new Float32Array(N * C));
        let o = 0;
        part.forEach((_, r) => {
          for (let k = 0; k < kinds; k++) {
            per[k].set(vel.subarray(o, o + rows[r] * C), offsets[r] * C);
            o += rows[r] * C;
          }
        });
        return per;
      };
      const host = (a: Float32Array) => Tensor.from(a, [N, C], { device });
      const guided = async (m: MotModel) => {
        const heads = await m.forwardHeads(batch);
        try {
          const [f, nt, ni] = split(heads.velocities.toFloat32Array()).map(host);
          using _k = { [Symbol.dispose]: () => [f, nt, ni].forEach((x) => x.dispose()) };
          const v = Tensor.zeros([N, C], { device });
          if (active) cfgCombine(f, nt, ni, v, cfg.cfgText, cfg.cfgImg, 'channel', 1);
          else v.upload(f.toFloat32Array());
          return { heads, v };
        } catch (e) {
          heads.logits.dispose();
          heads.velocities.dispose();
          throw e;
        }
      };
      const cat = (get: (r: Rollout) => Float32Array) => {
        const a = new Float32Array(N * C);
        part.forEach((r, j) => a.set(get(r), offsets[j] * C));
        return a;
      };
      using x = host(cat((r) => r.output.steps![i].x));
      using xNext = host(cat((r) => r.output.steps![i].xNext));
      using offT = Tensor.from(Int32Array.from(offsets), [part.length + 1], { device });
      using sigma = Tensor.from(new Float32Array(part.length).fill(t), [part.length], { device });
      using sigmaNext = Tensor.from(new Float32Array(part.length).fill(ts[i + 1]), [part.length], { device });
      using logpOld = Tensor.from(Float32Array.from(part, (r) => r.output.steps![i].logp), [part.length], { device });
      using advT = Tensor.from(adv.slice(c0, c0 + part.length), [part.length], { device });
      let meanRef: Tensor | undefined;
      if (cfg.beta > 0) {
        if (!reference) throw new Error('policyGradients: beta > 0 needs the reference policy');
        const r = await guided(reference);
        r.heads.logits.dispose();
        r.heads.velocities.dispose();
        using vRef = r.v;
        meanRef = Tensor.zeros([N, C], { device });
        using std = Tensor.zeros([part.length], { device });
        using lp = Tensor.zeros([part.length], { device });
        flowStep(
          { x, v: vRef, xNext, mean: meanRef, offsets: offT, sigma, sigmaNext, std, logp: lp },
          { mode: cfg.sde.mode, logpOnly: true, noiseLevel: cfg.sde.noiseLevel, sigmaMax: cfg.sde.mode === 'sde' ? ts[1] : undefined },
        );
      }
      using _ref = { [Symbol.dispose]: () => meanRef?.dispose() };
      const { heads, v } = await guided(model);
      using _h = { [Symbol.dispose]: () => (heads.logits.dispose(), heads.velocities.dispose(), v.dispose()) };
      using dv = Tensor.zeros([N, C], { device });
      using logp = Tensor.zeros([part.length], { device });
      using st = Tensor.zeros([5], { device });
      grpoLoss(
        { v, x, xNext, meanRef, offsets: offT, sigma, sigmaNext, logpOld, adv: advT, dv, logp, stats: st },
        { mode: cfg.sde.mode, noiseLevel: cfg.sde.noiseLevel, sigmaMax: cfg.sde.mode === 'sde' ? ts[1] : undefined, clipRange: cfg.clipRange, beta: cfg.beta },
      );
      const s = st.download();
      if (!s.every(Number.isFinite)) throw new NonFiniteError(`grpo_loss is not finite at step ${i}: ${Array.from(s).join(', ')}`);
      const w = share / trained.length;
      stats.loss += w * s[0];
      stats.policyLoss += w * s[1];
      stats.kl += w * s[2];
      stats.clipFrac += w * s[3];
      stats.approxKl += w * s[4];
      logpAll.set(logp.download(), c0);
      // dloss/dv (of this chunk's mean) -> each context's velocity rows, in the heads' order
      const g = dv.download();
      const dvel = new Float32Array(heads.velocities.numel);
      let o = 0;
      part.forEach((_, r) => {
        for (let k = 0; k < kinds; k++) {
          const scale = coef[k] * w;
          const base = offsets[r] * C;
          for (let j = 0; j < rows[r] * C; j++) dvel[o + j] = scale * g[base + j];
          o += rows[r] * C;
        }
      });
      using dvelT = Tensor.from(dvel, heads.velocities.shape, { device });
      await model.backward({ dvel: dvelT });
    }
    stats.logp.push(logpAll);
  }
  return stats;
}

/** The rewards of a step's rollouts: the judge's overall score, NaN where it failed. */
export async function judgeRollouts(judge: Judge, rollouts: readonly Rollout[], step: number): Promise<Float64Array> {
  const items: JudgeItem[] = rollouts.map((r, i) => ({
    id: `${step}:${i}`,
    source: r.prompt.source,
    instruction: r.prompt.instruction,
    cot: r.cot,
    edited: r.output.image,
    sourceScene: r.prompt.sourceScene,
    targetScene: r.prompt.targetScene,
    category: r.prompt.category,
  }));
  const verdicts = await judge.score(items);
  return Float64Array.from(verdicts, (v) => (v.ok && v.overall !== undefined ? v.overall : Number.NaN));
}

/**
 * Group-normalised advantages by grpo_advantages over the rollouts that have a reward (NaN: none,
 * A = 0); returns them with the kernel's statistics.
 */
export function advantages(rewards: Float64Array, groups: readonly number[], cfg: Pick<RlConfig, 'globalStd' | 'advClipMax' | 'stdThreshold'>): { adv: Float32Array; zeroStdRatio: number; mean: number; std: number } {
  const ok = Array.from(rewards.keys()).filter((i) => Number.isFinite(rewards[i]));
  const adv = new Float32Array(rewards.length);
  if (ok.length === 0) return { adv, zeroStdRatio: 1, mean: Number.NaN, std: Number.NaN };
  // compact group ids among the scored rollouts
  const ids = new Map<number, number>();
  const gid = ok.map((i) => {
    if (!ids.has(groups[i])) ids.set(groups[i], ids.size);
    return ids.get(groups[i])!;
  });
  using r = Tensor.from(Float32Array.from(ok, (i) => rewards[i]), [ok.length]);
  using g = Tensor.from(Int32Array.from(gid), [ok.length]);
  using a = Tensor.zeros([ok.length]);
  using flags = Tensor.zeros([ok.length], { dtype: 'i32' });
  using stats = Tensor.zeros([4]);
  grpoAdvantages(r, g, a, flags, stats, { groups: ids.size, globalStd: cfg.globalStd, clipMax: cfg.advClipMax, stdThreshold: cfg.stdThreshold });
  const av = a.download();
  ok.forEach((i, j) => (adv[i] = av[j]));
  const s = stats.download();
  return { adv, zeroStdRatio: s[0], mean: s[1], std: s[2] };
}

export async function runRl(run: RlRun): Promise<RlResult> {
  const { model, cfg, outDir, ctx } = run;
  const { ckPath, metricsPath, resuming } = openRunFolder(outDir, run.resume);
  if (cfg.beta > 0 && !run.reference) throw new Error('runRl: beta > 0 needs the reference policy (run.reference)');
  // only the gen expert learns
  const frozenBefore = model.frozenExperts;
  model.setFrozen({ und: true, gen: false });
  using opt = new AdamW(model, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay, maxGradNorm: cfg.maxGradNorm });
  const state = { ...run.meta, rl: cfg };
  let step = 0;
  if (resuming) {
    const ck = loadCheckpoint(ckPath);
    checkResumable(ckPath, ck.state, state, 'rl');
    loadInto(model.params, model, ck.params, 'model');
    restoreOptimizer(opt, ck);
    step = ck.step;
  }
  restartMetrics(metricsPath, resuming ? step : null);
  const save = () => {
    saveCheckpoint(ckPath, model, { optimizer: opt, step, state, tokenizer: run.tokenizer });
    return ckPath;
  };
  let lastCheckpoint: string | null = resuming ? ckPath : null;
  const metrics: RlMetrics[] = [];
  const progress = new Progress({ label: 'rl', total: cfg.steps, fields: 'reward {reward} | zero-std {zs} | clip {clip} | kl {kl} | {sec}s/step', quiet: run.quiet });
  progress.update(step);
  let stopped: RlResult['stopped'] = 'done';
  let message = '';
  try {
    while (step < cfg.steps) {
      if (run.signal?.aborted) {
        stopped = 'interrupted';
        break;
      }
      const t0 = performance.now();
      const prompts = run.prompts.promptsAt(step, cfg.prompts);
      const rollouts = await rolloutStep(model, ctx, cfg, prompts, step);
      const t1 = performance.now();
      const rewards = await judgeRollouts(run.judge, rollouts, step);
      const t2 = performance.now();
      const a = advantages(rewards, rollouts.map((r) => r.group), cfg);
      const train = rollouts.map((r, i) => ({ r, a: a.adv[i] })).filter((e) => e.a !== 0);
      model.zeroGrad();
      let ps: PolicyStats = { loss: 0, policyLoss: 0, kl: 0, clipFrac: 0, approxKl: 0, logp: [] };
      let gradNorm = 0;
      if (train.length > 0) {
        ps = await policyGradients(model, run.reference ?? null, ctx, cfg, train.map((e) => e.r), Float32Array.from(train, (e) => e.a));
        try {
          gradNorm = await opt.update(cfg.lr);
        } catch (e) {
          if ((e as { code?: string }).code === 'E_NAN') throw new NonFiniteError(`gradient norm is not finite: ${(e as Error).message}`);
          throw e;
        }
      }
      step += 1;
      const t3 = performance.now();
      const failures = rewards.reduce((n, r) => n + (Number.isFinite(r) ? 0 : 1), 0);
      const m: RlMetrics = {
        step,
        rewardMean: a.mean,
        rewardStd: a.std,
        zeroStdRatio: a.zeroStdRatio,
        judgeFailures: failures,
        trained: train.length,
        loss: ps.loss,
        policyLoss: ps.policyLoss,
        kl: ps.kl,
        clipFrac: ps.clipFrac,
        approxKl: ps.approxKl,
        gradNorm,
        lr: cfg.lr,
        sdeStart: sdeStartAt(cfg, step - 1),
        ...(run.judgeCalibrated !== undefined && { judgeCalibrated: run.judgeCalibrated }),
        seconds: { rollout: (t1 - t0) / 1000, judge: (t2 - t1) / 1000, update: (t3 - t2) / 1000, total: (t3 - t0) / 1000 },
      };
      metrics.push(m);
      if (step % cfg.logEvery === 0 || step === cfg.steps) appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
      progress.update(step, { reward: m.rewardMean.toFixed(3), zs: m.zeroStdRatio.toFixed(2), clip: m.clipFrac.toFixed(3), kl: m.approxKl.toExponential(1), sec: m.seconds.total.toFixed(1) });
      if (step % cfg.checkpointEvery === 0 && step < cfg.steps) lastCheckpoint = save();
      if (run.onStep?.(m) === 'stop') {
        stopped = 'interrupted';
        break;
      }
    }
    lastCheckpoint = save();
    message = stopped === 'done' ? `finished ${step} RL steps; checkpoint ${lastCheckpoint}` : `stopped at RL step ${step}; checkpoint ${lastCheckpoint} (resume with --resume)`;
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    stopped = 'nan';
    message = `RL stopped at step ${step + 1}: ${e.message}. The last good checkpoint is ${lastCheckpoint ?? '(none: no checkpoint was written yet)'}; nothing after it was saved.`;
  } finally {
    progress.stop();
    model.setFrozen(frozenBefore);
  }
  return { steps: step, stopped, message, lastCheckpoint, metrics };
}
