// One RL run on the built-in world from an SFT checkpoint: the policy and the frozen reference from
// the checkpoint, world prompts from the train split, the judge through the calibration gate. Shared
// by `metacot train rl` and `metacot demo --rl`.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

import { type SampleContext, sampleContext } from '../data/samples.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { requireCalibrated } from '../judge/calibration.js';
import { type MakeJudgeOptions, makeJudge } from '../judge/make.js';
import { identityName, type Judge } from '../judge/types.js';
import { loadCheckpoint, modelFromCheckpoint } from '../model/checkpoint.js';
import type { MotModel } from '../model/model.js';
import { parseCategories } from '../world/categories.js';
import { type RlResult, runRl } from './rl.js';
import type { RlFileConfig } from './rl-config.js';
import { WorldPrompts } from './rl-prompts.js';

export interface RlJudgeGate {
  judge: Judge;
  /** the judge passed its calibration gate (false: let through by allowUncalibrated) */
  calibrated: boolean;
}

/** The judge of a spec, through the calibration gate: an uncalibrated judge is refused unless allowUncalibrated. */
export function gatedJudge(spec: string, records: string, opts: MakeJudgeOptions & { allowUncalibrated?: boolean } = {}): RlJudgeGate {
  const judge = makeJudge(spec, opts);
  const { overridden } = requireCalibrated(judge.identity, records, { allowUncalibrated: opts.allowUncalibrated });
  return { judge, calibrated: !overridden };
}

export interface RlOutcome {
  model: MotModel;
  ctx: SampleContext;
  result: RlResult;
  seconds: number;
}

export async function rlOnWorld(
  cfg: RlFileConfig,
  from: string,
  gate: RlJudgeGate,
  opts: { resume?: boolean | 'or-start'; quiet?: boolean; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<RlOutcome> {
  if (!existsSync(from)) throw new Error(`--checkpoint: no such file '${from}'`);
  const ck = loadCheckpoint(from);
  if (!ck.tokenizer) throw new Error(`--checkpoint: '${from}' holds no tokenizer`);
  const tokenizer = loadTokenizer(ck.tokenizer);
  const ctx = sampleContext(ck.config, tokenizer);
  const model = modelFromCheckpoint(ck, { grads: true });
  const reference = cfg.beta > 0 ? modelFromCheckpoint(ck, { grads: false }) : null;
  const sha = createHash('sha256').update(readFileSync(from)).digest('hex').slice(0, 16);
  const categories = parseCategories(cfg.categories);
  const prompts = new WorldPrompts(cfg.seed, categories, ck.config.imageSize, cfg.evalFraction);
  opts.log?.(
    `RL from ${from} (sha256 ${sha}): ${cfg.prompts} prompts x ${cfg.groupSize} rollouts a step, ${cfg.rolloutSteps} steps with SDE on ${cfg.sde.size} of the first ${cfg.sde.within}; ` +
      `judge ${identityName(gate.judge.identity)}${gate.calibrated ? '' : ' (UNCALIBRATED: let through by --allow-uncalibrated)'}`,
  );
  const { out: _o, minutes, categories: _c, evalFraction: _e, ...rl } = cfg;
  const t0 = performance.now();
  const deadline = minutes > 0 ? Date.now() + minutes * 60_000 : Infinity;
  try {
    const result = await runRl({
      outDir: cfg.out,
      model,
      reference,
      ctx,
      prompts,
      judge: gate.judge,
      judgeCalibrated: gate.calibrated,
      cfg: rl,
      tokenizer: ck.tokenizer,
      meta: { from: { sha }, judge: identityName(gate.judge.identity), judgeCalibrated: gate.calibrated, categories: cfg.categories, evalFraction: cfg.evalFraction },
      resume: opts.resume,
      quiet: opts.quiet,
      signal: opts.signal,
      onStep: () => (Date.now() > deadline ? 'stop' : undefined),
    });
    return { model, ctx, result, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    reference?.dispose();
  }
}
