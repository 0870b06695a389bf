// `metacot train sft` configuration: a JSON file (zod-validated) and/or flags; flags win.
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { COT_VARIANTS } from '../cot/grammar.js';
import { PRESETS } from '../model/config.js';

export const SftFileSchema = z
  .object({
    out: z.string().default('runs/sft'),
    preset: z.enum(Object.keys(PRESETS) as [string, ...string[]]).default('tiny'),
    /** overrides of the preset's dimensions */
    model: z.record(z.string(), z.union([z.number(), z.boolean()])).default({}),
    seed: z.number().int().min(0).default(1),
    /**
     * where the model trains: 'auto' = CUDA when the loaded backend is the CUDA one, else the CPU. The
     * default stays 'cpu' until the CUDA model path has passed its parity check on a GPU (issue 7).
     */
    device: z.enum(['auto', 'cpu', 'cuda']).default('cpu'),
    data: z
      .object({
        variant: z.enum(COT_VARIANTS).default('meta'),
        /** subsets (3meta, 5meta, full) and/or category names, comma-separated */
        categories: z.string().default('full'),
        understandingRatio: z.number().min(0).lt(1).default(0.15),
        tokenBudget: z.number().int().min(64).default(1280),
        dropText: z.number().min(0).max(1).default(0.1),
        dropVae: z.number().min(0).max(1).default(0.3),
        dropVit: z.number().min(0).max(1).default(0.3),
        evalFraction: z.number().gt(0).lt(1).default(0.1),
      })
      .strict()
      .prefault({}),
    steps: z.number().int().min(1).default(1000),
    /** stop after this many minutes (the step budget still applies); 0 = no time limit */
    minutes: z.number().min(0).default(0),
    gradAccum: z.number().int().min(1).default(1),
    lr: z.number().gt(0).default(1e-3),
    minLr: z.number().min(0).default(1e-4),
    warmupSteps: z.number().int().min(0).default(50),
    schedule: z.enum(['constant', 'cosine']).default('cosine'),
    wCe: z.number().min(0).default(1),
    wMse: z.number().min(0).default(1),
    timestepShift: z.number().gt(0).default(1),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.95),
    weightDecay: z.number().min(0).default(0.0),
    maxGradNorm: z.number().min(0).default(1),
    emaDecay: z.number().min(0).lt(1).default(0),
    checkpointEvery: z.number().int().min(1).default(200),
    logEvery: z.number().int().min(1).default(1),
  })
  .strict();

export type SftFileConfig = z.infer<typeof SftFileSchema>;

export function parseSftConfig(input: unknown, source = 'config'): SftFileConfig {
  const r = SftFileSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    const path = i.path.join('.') || '(root)';
    throw new Error(`${source}: field '${path}': ${i.message}`);
  }
  return r.data;
}

export function readSftConfig(path: string): SftFileConfig {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--config: cannot read '${path}': ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new Error(`--config: '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  return parseSftConfig(json, `--config ${path}`);
}
