// `metacot train sft`: Meta-CoT SFT on the built-in world; `metacot train rl`: Flow-GRPO from an SFT
// checkpoint with a calibrated judge. Config file and/or flags; flags win.
import { resolve } from 'node:path';

import { Command, Option } from 'commander';

import { COT_VARIANTS } from '../cot/grammar.js';
import { describeBackend } from '../native/loader.js';
import { type SftFileConfig, parseSftConfig, readSftConfig } from '../train/config.js';
import { trainOnWorld } from '../train/run.js';
import { DEFAULT_RECORDS } from '../judge/calibration.js';
import { parseRlConfig, readRlConfig } from '../train/rl-config.js';
import { gatedJudge, rlOnWorld } from '../train/rl-run.js';
import { deviceOption, integer, nonNegative } from './args.js';
import { interruptible, resumeMode } from './interrupt.js';

export function registerTrain(program: Command): void {
  const train = program.command('train').description('training stages');
  train
    .command('sft')
    .description('stage 1: supervised fine-tuning on CoT editing + understanding data of the built-in world')
    .option('--config <file>', 'JSON config (see src/train/config.ts for every field)')
    .option('--out <dir>', 'run folder: checkpoint, metrics.jsonl')
    .option('--preset <name>', 'model preset (tiny, small, qwen2.5-0.5b-mot, bagel-7b-mot)')
    .addOption(new Option('--variant <v>', 'CoT variant').choices([...COT_VARIANTS]))
    .option('--categories <spec>', 'category subset: 3meta, 5meta, full and/or names')
    .option('--steps <n>', 'optimizer steps', nonNegative('--steps'))
    .option('--minutes <m>', 'stop after this many minutes (checkpointed; resume with --resume)', nonNegative('--minutes'))
    .option('--lr <x>', 'peak learning rate', nonNegative('--lr'))
    .option('--grad-accum <n>', 'micro-batches per step', nonNegative('--grad-accum'))
    .option('--token-budget <n>', 'tokens per micro-batch', nonNegative('--token-budget'))
    .option('--seed <n>', 'seed', nonNegative('--seed'))
    .option('--device <d>', "cpu | cuda | auto (auto: CUDA when usable); default cpu", deviceOption('--device'))
    .option('--checkpoint-every <n>', 'steps between checkpoints', nonNegative('--checkpoint-every'))
    .option('--resume', 'continue from <out>/checkpoint.safetensors (an error when there is none)')
    .option('--resume-or-start', 'continue from <out>/checkpoint.safetensors when there is one, else start a fresh run')
    .action(async (opts) => {
      const base: SftFileConfig = opts.config ? readSftConfig(opts.config) : parseSftConfig({});
      const cfg = parseSftConfig(
        {
          ...base,
          ...(opts.out !== undefined && { out: opts.out }),
          ...(opts.preset !== undefined && { preset: opts.preset }),
          ...(opts.steps !== undefined && { steps: opts.steps }),
          ...(opts.minutes !== undefined && { minutes: opts.minutes }),
          ...(opts.lr !== undefined && { lr: opts.lr }),
          ...(opts.gradAccum !== undefined && { gradAccum: opts.gradAccum }),
          ...(opts.seed !== undefined && { seed: opts.seed }),
          ...(opts.device !== undefined && { device: opts.device }),
          ...(opts.checkpointEvery !== undefined && { checkpointEvery: opts.checkpointEvery }),
          data: {
            ...base.data,
            ...(opts.variant !== undefined && { variant: opts.variant }),
            ...(opts.categories !== undefined && { categories: opts.categories }),
            ...(opts.tokenBudget !== undefined && { tokenBudget: opts.tokenBudget }),
          },
        },
        'train sft',
      );
      console.error(describeBackend());
      using stop = interruptible();
      {
        const out = await trainOnWorld(cfg, { resume: resumeMode('train sft', opts), signal: stop.signal, log: (l) => console.error(l) });
        const last = out.result.metrics.at(-1);
        console.log(out.result.message);
        if (last)
          console.log(
            `last step: loss ${last.loss.toFixed(4)} (ce ${last.ce.toFixed(4)}, mse ${last.mse.toFixed(4)}), ` +
              `${last.samplesPerSec.toFixed(1)} samples/s, ${last.tokensPerSec.toFixed(0)} tokens/s, ` +
              `${(last.flopsPerSec / 1e9).toFixed(1)} GFLOP/s` +
              (last.mfu !== null ? ` = ${(100 * last.mfu).toFixed(1)}% of ${(out.peakFlops / 1e9).toFixed(0)} GFLOP/s (${out.peakSource})` : ''),
          );
        out.model.dispose();
        if (out.result.stopped === 'nan') process.exitCode = 1;
      }
    });

  train
    .command('rl')
    .description('stage 2: Flow-GRPO on the gen expert from an SFT checkpoint, rewarded by a calibrated judge')
    .requiredOption('--checkpoint <file>', 'the SFT checkpoint: the starting policy and the frozen reference')
    .option('--judge <spec>', 'gt | cec | vlm | vlm-cec, or a weighted sum such as cec:0.7,vlm-cec:0.3', 'cec')
    .option('--records <dir>', 'folder of calibration records (the gate)', DEFAULT_RECORDS)
    .option('--allow-uncalibrated', 'use a judge that has not passed its calibration gate (logged in every metrics line)')
    .option('--endpoint <url>', 'OpenAI-compatible endpoint of a VLM judge')
    .option('--model <name>', 'the VLM model name')
    .option('--config <file>', 'JSON config (see src/train/rl-config.ts for every field)')
    .option('--out <dir>', 'run folder: checkpoint, metrics.jsonl')
    .option('--steps <n>', 'RL steps', integer('--steps', 1))
    .option('--minutes <m>', 'stop after this many minutes (checkpointed; resume with --resume)', nonNegative('--minutes'))
    .option('--prompts <n>', 'prompts per step', integer('--prompts', 1))
    .option('--group-size <n>', 'rollouts per prompt', integer('--group-size', 2))
    .addOption(new Option('--cot <mode>', 'CoT per group, per rollout, or none').choices(['shared', 'per-rollout', 'none']))
    .option('--categories <spec>', 'category subset: 3meta, 5meta, full and/or names')
    .option('--lr <x>', 'learning rate', nonNegative('--lr'))
    .option('--seed <n>', 'seed', integer('--seed', 0))
    .option('--checkpoint-every <n>', 'steps between checkpoints', integer('--checkpoint-every', 1))
    .option('--resume', 'continue from <out>/checkpoint.safetensors (an error when there is none)')
    .option('--resume-or-start', 'continue from <out>/checkpoint.safetensors when there is one, else start a fresh run')
    .action(async (opts) => {
      const base = opts.config ? readRlConfig(opts.config) : parseRlConfig({});
      const pick = (flag: string, key: string) => (opts[flag] !== undefined ? { [key]: opts[flag] } : {});
      const cfg = parseRlConfig(
        {
          ...base,
          ...pick('out', 'out'),
          ...pick('steps', 'steps'),
          ...pick('minutes', 'minutes'),
          ...pick('prompts', 'prompts'),
          ...pick('groupSize', 'groupSize'),
          ...pick('cot', 'cot'),
          ...pick('categories', 'categories'),
          ...pick('lr', 'lr'),
          ...pick('seed', 'seed'),
          ...pick('checkpointEvery', 'checkpointEvery'),
        },
        'train rl',
      );
      const resume = resumeMode('train rl', opts);
      const gate = gatedJudge(opts.judge, resolve(opts.records), {
        allowUncalibrated: Boolean(opts.allowUncalibrated),
        endpoint: opts.endpoint ? { endpoint: opts.endpoint, model: opts.model } : undefined,
      });
      console.error(describeBackend());
      using stop = interruptible();
      const out = await rlOnWorld(cfg, opts.checkpoint, gate, { resume, signal: stop.signal, log: (l) => console.error(l) });
      const last = out.result.metrics.at(-1);
      console.log(out.result.message);
      if (last)
        console.log(
          `last step: reward ${last.rewardMean.toFixed(3)} +- ${last.rewardStd.toFixed(3)}, zero-std groups ${(100 * last.zeroStdRatio).toFixed(0)}%, ` +
            `clip fraction ${last.clipFrac.toFixed(4)}, approx KL ${last.approxKl.toExponential(2)}; ` +
            `${last.seconds.total.toFixed(1)} s (rollout ${last.seconds.rollout.toFixed(1)}, judge ${last.seconds.judge.toFixed(1)}, update ${last.seconds.update.toFixed(1)})`,
        );
      out.model.dispose();
      if (out.result.stopped === 'nan') process.exitCode = 1;
    });
}
