// `metacot train rl` configuration (DESIGN.md section 4): a JSON file (zod-validated) and/or flags.
// The defaults are Flow-GRPO's settings for BAGEL where DESIGN.md names them (clip range 1e-5, beta 0,
// noise level 1.3, per-prompt std, timestep shift 3.0, lr 1e-4, 24 images a prompt) and Meta-CoT's
// where it differs: 10 rollout steps with the SDE on an early window of 2 steps inside the first 5.
import { readFileSync } from 'node:fs';

import { z } from 'zod';

export const RlFileSchema = z
  .object({
    out: z.string().default('runs/rl'),
    seed: z.number().int().min(0).default(1),
    steps: z.number().int().min(1).default(100),
    /** stop after this many minutes (the step budget still applies); 0 = no time limit */
    minutes: z.number().min(0).default(0),
    /** prompts per step; each gets a group of groupSize rollouts */
    prompts: z.number().int().min(1).default(2),
    groupSize: z.number().int().min(2).default(24),
    /** world categories the prompts come from (subsets 3meta, 5meta, full and/or names) */
    categories: z.string().default('full'),
    evalFraction: z.number().gt(0).lt(1).default(0.1),
    /** 'shared': one CoT per prompt for its whole group; 'per-rollout': each rollout thinks its own */
    cot: z.enum(['shared', 'per-rollout', 'none']).default('shared'),
    /** sampling temperature of per-rollout CoTs (shared CoTs are greedy) */
    cotTemperature: z.number().min(0).default(0.3),
    maxCotTokens: z.number().int().min(1).default(192),
    rolloutSteps: z.number().int().min(2).default(10),
    timestepShift: z.number().gt(0).default(3),
    sde: z
      .object({
        mode: z.enum(['sde', 'cps']).default('sde'),
        noiseLevel: z.number().gt(0).default(1.3),
        /** SDE steps per rollout (the trained timesteps) */
        size: z.number().int().min(1).default(2),
        /** the window starts at a step drawn per RL step from [0, within - size] ... */
        within: z.number().int().min(1).default(5),
        /** ... or at this fixed step */
        start: z.number().int().min(0).optional(),
      })
      .strict()
      .prefault({}),
    cfgText: z.number().min(0).default(4),
    cfgImg: z.number().min(0).default(2),
    cfgInterval: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0, 1]),
    clipRange: z.number().min(0).default(1e-5),
    beta: z.number().min(0).default(0),
    advClipMax: z.number().gt(0).default(5),
    globalStd: z.boolean().default(false),
    /** groups whose reward std is <= this get A = 0 (Edit-R1 uses 0.05 on 0-1 rewards) */
    stdThreshold: z.number().min(0).default(0),
    /** rollouts per training forward (0 = all of a step's at once) */
    microBatch: z.number().int().min(0).default(0),
    lr: z.number().gt(0).default(1e-4),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    weightDecay: z.number().min(0).default(0),
    maxGradNorm: z.number().min(0).default(1),
    checkpointEvery: z.number().int().min(1).default(10),
    logEvery: z.number().int().min(1).default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const last = c.rolloutSteps - 2; // the last step that goes to t > 0 from an SDE-definable t
    const start = c.sde.start ?? 0;
    const end = c.sde.start !== undefined ? c.sde.start + c.sde.size - 1 : Math.max(c.sde.within, c.sde.size) - 1;
    if (c.sde.size > c.sde.within && c.sde.start === undefined)
      ctx.addIssue({ code: 'custom', path: ['sde', 'size'], message: `expected a window of at most sde.within = ${c.sde.within} steps, received ${c.sde.size}` });
    else if (end > last || start > last)
      ctx.addIssue({ code: 'custom', path: ['sde'], message: `expected the SDE window inside steps 0..${last} of ${c.rolloutSteps} rollout steps, received steps ${start}..${end}` });
  });

export type RlFileConfig = z.infer<typeof RlFileSchema>;

export function parseRlConfig(input: unknown, source = 'config'): RlFileConfig {
  const r = RlFileSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${source}: field '${i.path.join('.') || '(root)'}': ${i.message}`);
  }
  return r.data;
}

export function readRlConfig(path: string): RlFileConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--config: cannot read '${path}' as JSON: ${(e as Error).message}`);
  }
  return parseRlConfig(json, `--config ${path}`);
}
