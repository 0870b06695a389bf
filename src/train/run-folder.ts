// A trainer's run folder (SFT and RL share it): checkpoint.safetensors and metrics.jsonl in `--out`.
// `--resume` requires a checkpoint there (an error, not a silent fresh start); 'or-start' starts fresh
// when there is none. A resumed run keeps the metric lines of the steps its checkpoint covers; a fresh
// run starts the metrics file empty.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../model/safetensors.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.jsonl';

export interface RunFolder {
  ckPath: string;
  metricsPath: string;
  /** a checkpoint is there and the run resumes from it */
  resuming: boolean;
}

export function openRunFolder(outDir: string, resume: boolean | 'or-start' | undefined): RunFolder {
  mkdirSync(outDir, { recursive: true });
  const ckPath = join(outDir, CHECKPOINT_FILE);
  const metricsPath = join(outDir, METRICS_FILE);
  const hasCheckpoint = existsSync(ckPath);
  if (resume === true && !hasCheckpoint)
    throw new Error(`--resume: there is no checkpoint to resume from at '${ckPath}' (use --resume-or-start to start a fresh run when there is none)`);
  return { ckPath, metricsPath, resuming: Boolean(resume) && hasCheckpoint };
}

/** The metrics file at the start of a run: the lines of steps <= `resumedStep` (a resume), or empty (null: a fresh run). */
export function restartMetrics(metricsPath: string, resumedStep: number | null): void {
  if (resumedStep === null) {
    writeFileSync(metricsPath, '');
    return;
  }
  if (!existsSync(metricsPath)) return;
  const kept = readFileSync(metricsPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && (JSON.parse(l) as { step: number }).step <= resumedStep);
  writeFileAtomic(metricsPath, kept.map((l) => `${l}\n`).join(''));
}
