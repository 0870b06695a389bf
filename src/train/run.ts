// One SFT run on the built-in world from a config: tokenizer, model, data mixture, training with a
// step and time budget. Shared by `metacot train sft` and `metacot demo`.
import { join } from 'node:path';

import { type SampleContext, sampleContext } from '../data/samples.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { buildWorldTokenizer } from '../data/vocab.js';
import { type ModelConfig, preset } from '../model/config.js';
import { MotModel } from '../model/model.js';
import type { Device } from '../native/binding.js';
import { Tensor } from '../native/tensor.js';
import { gemm } from '../ops/gemm.js';
import { timeCall } from '../ops/registry.js';
import { loadBackend } from '../native/loader.js';
import { resolvePeak } from './peak.js';
import { randn } from '../ops/elementwise.js';
import { parseCategories } from '../world/categories.js';
import type { SftFileConfig } from './config.js';
import { type SftResult, runSft } from './sft.js';
import { WorldSource } from './world-source.js';

export interface Prepared {
  tokenizer: TextTokenizer;
  modelConfig: ModelConfig;
  ctx: SampleContext;
}

/** Tokenizer, model config (vocab rounded up from the tokenizer) and layout context. */
export function prepare(cfg: SftFileConfig): Prepared {
  const tokenizer = buildWorldTokenizer();
  const modelConfig = preset(cfg.preset, { vocab: Math.ceil(tokenizer.size / 64) * 64, ...(cfg.model as Partial<ModelConfig>) });
  return { tokenizer, modelConfig, ctx: sampleContext(modelConfig, tokenizer, undefined, cfg.timestepShift) };
}

/** Measured GEMM throughput (FLOP/s) on `device` (peak.ts turns it into the MFU denominator): the best call at 512^3 and
 * 1024^3 on the CPU (on a shared machine the best call is the closest to what the cores can do when
 * not disturbed), 4096^3 timed with CUDA events on a GPU (our bf16 tensor-core GEMM). */
export async function measureGemmPeak(device: Device = 'cpu', sizes?: number[], reps = 6): Promise<number> {
  let peak = 0;
  for (const n of sizes ?? (device === 'cuda' ? [4096] : [512, 1024])) {
    using a = Tensor.zeros([n, n], { device });
    using b = Tensor.zeros([n, n], { device });
    using c = Tensor.zeros([n, n], { device });
    randn(a, 1);
    randn(b, 2);
    await gemm.async(a, b, c);
    if (device === 'cuda') {
      const ms = timeCall('gemm', { tensors: [a, b, c], ints: [0, 0, n, n, n, 1, 0, 0, 0], floats: [1, 0] }, reps);
      for (const t of ms) peak = Math.max(peak, (2 * n * n * n) / (t / 1000));
      continue;
    }
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await gemm.async(a, b, c);
      peak = Math.max(peak, (2 * n * n * n) / ((performance.now() - t0) / 1000));
    }
  }
  return peak;
}

export interface TrainOutcome {
  model: MotModel;
  prepared: Prepared;
  result: SftResult;
  peakFlops: number;
  /** where peakFlops comes from */
  peakSource: string;
  seconds: number;
}

export async function trainOnWorld(
  cfg: SftFileConfig,
  opts: { resume?: boolean | 'or-start'; quiet?: boolean; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<TrainOutcome> {
  const prepared = prepare(cfg);
  const { modelConfig, ctx, tokenizer } = prepared;
  const categories = parseCategories(cfg.data.categories);
  const source = new WorldSource(
    {
      seed: cfg.seed,
      variant: cfg.data.variant,
      categories,
      understandingRatio: cfg.data.understandingRatio,
      tokenBudget: cfg.data.tokenBudget,
      dropout: { text: cfg.data.dropText, vae: cfg.data.dropVae, vit: cfg.data.dropVit, cotWithText: true },
      evalFraction: cfg.data.evalFraction,
    },
    ctx,
    modelConfig,
  );
  const model = MotModel.create(modelConfig, { seed: cfg.seed, device: cfg.device });
  const backend = loadBackend();
  const peak = await resolvePeak(model.device, { deviceName: backend.info.cuda?.device, threads: backend.info.threads, measure: () => measureGemmPeak(model.device) });
  const peakFlops = peak.flops;
  opts.log?.(
    `model ${cfg.preset} on ${model.device}: ${(model.parameterCount / 1e6).toFixed(2)}M parameters (hidden ${modelConfig.hidden}, ${modelConfig.layers} layers, vocab ${modelConfig.vocab}); ` +
      `data: ${cfg.data.variant} CoT over ${categories.length} categories + ${(100 * cfg.data.understandingRatio).toFixed(0)}% understanding; ` +
      `MFU against ${(peakFlops / 1e9).toFixed(0)} GFLOP/s (${peak.source})`,
  );
  const t0 = performance.now();
  const deadline = cfg.minutes > 0 ? Date.now() + cfg.minutes * 60_000 : Infinity;
  const result = await runSft({
    outDir: cfg.out,
    model,
    source,
    peakFlops,
    tokenizer: tokenizer.toJSON(),
    meta: { data: cfg.data, preset: cfg.preset, seed: cfg.seed },
    resume: opts.resume,
    quiet: opts.quiet,
    signal: opts.signal,
    cfg: {
      steps: cfg.steps,
      gradAccum: cfg.gradAccum,
      wCe: cfg.wCe,
      wMse: cfg.wMse,
      schedule: { lr: cfg.lr, warmupSteps: cfg.warmupSteps, kind: cfg.schedule, minLr: cfg.minLr },
      optimizer: { beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay, maxGradNorm: cfg.maxGradNorm },
      emaDecay: cfg.emaDecay,
      checkpointEvery: cfg.checkpointEvery,
      logEvery: cfg.logEvery,
    },
    onStep: () => (Date.now() > deadline ? 'stop' : undefined),
  });
  return { model, prepared, result, peakFlops, peakSource: peak.source, seconds: (performance.now() - t0) / 1000 };
}

export const checkpointPath = (out: string) => join(out, 'checkpoint.safetensors');
