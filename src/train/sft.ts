// Stage 1 of Meta-CoT: supervised fine-tuning on packed CoT-editing + understanding sequences.
// loss = w_ce * CE(CoT / answer tokens) + w_mse * MSE(velocity at noisy latents), over the step's
// micro-batches taken together (accumulate.ts); AdamW with warmup then constant or cosine; EMA;
// checkpoints every N steps, on Ctrl-C and at the end (atomic); exact resume (the data order is a
// pure function of (seed, step, micro), the weights, AdamW moments and step and the EMA are in the
// checkpoint, and a resume whose config differs from the saved one is refused); a non-finite loss or
// gradient stops the run with the last good checkpoint kept. Compute runs on native worker threads:
// the event loop stays free for the progress display and signals.
import { appendFileSync } from 'node:fs';

import type { HostBatch } from '../model/batch.js';
import { loadCheckpoint, loadInto, restoreOptimizer, saveCheckpoint } from '../model/checkpoint.js';
import type { MotModel } from '../model/model.js';
import { Progress } from '../util/progress.js';
import { NonFiniteError, accumulateGradients } from './accumulate.js';
import { Ema } from './ema.js';
import type { StepShape } from './flops.js';
import { AdamW, type AdamWConfig } from './optimizer.js';
import { checkResumable } from './resume.js';
import { openRunFolder, restartMetrics } from './run-folder.js';
import { type ScheduleConfig, learningRate } from './schedule.js';

export { NonFiniteError } from './accumulate.js';

export interface TrainBatch {
  batch: HostBatch;
  samples: number;
  shape: StepShape;
}

/** Deterministic data: the micro-batch for (step, micro) depends on nothing else, so resuming at a
 * step reproduces the uninterrupted run exactly. */
export interface BatchSource {
  batchAt(step: number, micro: number): TrainBatch;
}

export interface SftConfig {
  steps: number;
  gradAccum: number;
  wCe: number;
  wMse: number;
  schedule: Omit<ScheduleConfig, 'totalSteps'>;
  optimizer: Omit<AdamWConfig, 'lr'>;
  /** 0 disables the EMA */
  emaDecay: number;
  checkpointEvery: number;
  /** steps between metric lines (1 = every step) */
  logEvery: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  ce: number;
  mse: number;
  lr: number;
  gradNorm: number;
  samples: number;
  tokens: number;
  seconds: number;
  samplesPerSec: number;
  tokensPerSec: number;
  flopsPerSec: number;
  mfu: number | null;
}

export interface SftRun {
  outDir: string;
  model: MotModel;
  source: BatchSource;
  cfg: SftConfig;
  /** GEMM peak FLOP/s of this machine, for MFU (null: not measured) */
  peakFlops?: number | null;
  /** tokenizer (saved with every checkpoint) */
  tokenizer?: unknown;
  /** extra state saved with checkpoints (e.g. the data config) */
  meta?: Record<string, unknown>;
  /**
   * Continue from the checkpoint in outDir: true requires one (a missing checkpoint is an error, not a
   * fresh start); 'or-start' starts a fresh run when there is none.
   */
  resume?: boolean | 'or-start';
  quiet?: boolean;
  /** called after every step (tests stop runs with it) */
  onStep?: (m: StepMetrics) => void | 'stop';
  /** an external stop request (Ctrl-C sets it) */
  signal?: AbortSignal;
}

export interface SftResult {
  steps: number;
  stopped: 'done' | 'interrupted' | 'nan';
  message: string;
  lastCheckpoint: string | null;
  metrics: StepMetrics[];
}

export { CHECKPOINT_FILE, METRICS_FILE } from './run-folder.js';

export async function runSft(run: SftRun): Promise<SftResult> {
  const { model, cfg, outDir } = run;
  const { ckPath, metricsPath, resuming } = openRunFolder(outDir, run.resume);
  using opt = new AdamW(model, { ...cfg.optimizer, lr: cfg.schedule.lr });
  using ema = cfg.emaDecay > 0 ? new Ema(model, cfg.emaDecay) : null;
  const state = { ...run.meta, sft: cfg };
  let step = 0;
  if (resuming) {
    const ck = loadCheckpoint(ckPath);
    checkResumable(ckPath, ck.state, state, 'sft');
    loadInto(model.params, model, ck.params, 'model');
    restoreOptimizer(opt, ck);
    if (ema) {
      if (!ck.ema) throw new Error(`--resume: checkpoint '${ckPath}' holds no EMA weights, but this run keeps an EMA (emaDecay ${cfg.emaDecay})`);
      ema.load(ck.ema);
    }
    step = ck.step;
  }
  restartMetrics(metricsPath, resuming ? step : null);
  const schedule: ScheduleConfig = { ...cfg.schedule, totalSteps: cfg.steps };
  const save = () => {
    saveCheckpoint(ckPath, model, { optimizer: opt, ema: ema?.weights, step, state, tokenizer: run.tokenizer });
    return ckPath;
  };
  let lastCheckpoint: string | null = resuming ? ckPath : null;
  const metrics: StepMetrics[] = [];
  const progress = new Progress({ label: 'sft', total: cfg.steps, fields: 'loss {loss} (ce {ce}, mse {mse}) | {sps} samples/s {tps} tok/s | MFU {mfu}', quiet: run.quiet });
  progress.update(step);
  let stopped: SftResult['stopped'] = 'done';
  let message = '';
  const micros = (s: number) => Array.from({ length: cfg.gradAccum }, (_, micro) => run.source.batchAt(s, micro));
  // the next step's micro-batches, built on this thread while the native steps run on the workers
  let pending: TrainBatch[] | null = null;
  try {
    while (step < cfg.steps) {
      if (run.signal?.aborted) {
        stopped = 'interrupted';
        break;
      }
      const t0 = performance.now();
      const lr = learningRate(schedule, step);
      const batches = pending ?? micros(step);
      const next: TrainBatch[] = [];
      const r = await accumulateGradients(model, batches, cfg, {
        whileRunning: (micro) => {
          if (step + 1 < cfg.steps) next.push(run.source.batchAt(step + 1, micro));
        },
      });
      pending = next.length === cfg.gradAccum ? next : null;
      let gradNorm: number;
      try {
        gradNorm = await opt.update(lr);
      } catch (e) {
        if ((e as { code?: string }).code === 'E_NAN') throw new NonFiniteError(`gradient norm is not finite: ${(e as Error).message}`);
        throw e;
      }
      if (ema) await ema.update();
      step += 1;
      const seconds = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step,
        loss: r.loss,
        ce: r.ce,
        mse: r.mse,
        lr,
        gradNorm,
        samples: r.samples,
        tokens: r.tokens,
        seconds,
        samplesPerSec: r.samples / seconds,
        tokensPerSec: r.tokens / seconds,
        flopsPerSec: r.flops / seconds,
        mfu: run.peakFlops ? r.flops / seconds / run.peakFlops : null,
      };
      metrics.push(m);
      if (step % cfg.logEvery === 0 || step === cfg.steps) appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
      progress.update(step, {
        loss: r.loss.toFixed(4),
        ce: r.ce.toFixed(3),
        mse: r.mse.toFixed(4),
        sps: m.samplesPerSec.toFixed(1),
        tps: m.tokensPerSec.toFixed(0),
        mfu: m.mfu === null ? '-' : `${(100 * m.mfu).toFixed(1)}%`,
      });
      if (step % cfg.checkpointEvery === 0 && step < cfg.steps) lastCheckpoint = save();
      if (run.onStep?.(m) === 'stop') {
        stopped = 'interrupted';
        break;
      }
    }
    lastCheckpoint = save();
    message =
      stopped === 'done'
        ? `finished ${step} steps; checkpoint ${lastCheckpoint}`
        : `stopped at step ${step}; checkpoint ${lastCheckpoint} (resume with --resume)`;
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    stopped = 'nan';
    message = `training stopped at step ${step + 1}: ${e.message}. The last good checkpoint is ${lastCheckpoint ?? '(none: no checkpoint was written yet)'}; nothing after it was saved.`;
  } finally {
    progress.stop();
  }
  return { steps: step, stopped, message, lastCheckpoint, metrics };
}
