// `metacot train sft`: Meta-CoT SFT on the built-in world (config file and/or flags; flags win).
import { Command, Option } from 'commander';

import { COT_VARIANTS } from '../cot/grammar.js';
import { describeBackend } from '../native/loader.js';
import { type SftFileConfig, parseSftConfig, readSftConfig } from '../train/config.js';
import { trainOnWorld } from '../train/run.js';
import { deviceOption, nonNegative } from './args.js';

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
      const ac = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) {
          console.error('\nsecond Ctrl-C: exiting without waiting for the checkpoint');
          process.exit(130);
        }
        console.error('\nCtrl-C: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)');
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        if (opts.resume && opts.resumeOrStart) throw new Error("train sft: options '--resume' and '--resume-or-start' expected one or the other, received both");
        const resume = opts.resumeOrStart ? 'or-start' : Boolean(opts.resume);
        const out = await trainOnWorld(cfg, { resume, signal: ac.signal, log: (l) => console.error(l) });
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
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
