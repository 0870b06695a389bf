// Calibration of a judge against reference labels, and the gate the RL trainer applies (DESIGN.md
// section 5, the paper's rule): a judge may reward only with a calibration record that passes,
// Pearson r >= 0.8 and MAE <= 2.5 on the 0-10 scale. A record is a JSON file named after the judge's
// identity (kind, model, prompt version), so a new prompt or model needs its own calibration.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { TopLevelSpec } from 'vega-lite';

import { writeFileAtomic } from '../world/atomic.js';
import { mae, pearson, spearman } from './stats.js';
import { type JudgeIdentity, type Verdict, identityName } from './types.js';

/** The folder of calibration records the CLI reads and writes by default (`--records`). */
export const DEFAULT_RECORDS = 'calibration';

export const GATE = { minPearson: 0.8, maxMae: 2.5 } as const;

export interface CalibrationRecord {
  format: 'metacot-calibration-v1';
  /** identityName(judge) */
  name: string;
  judge: JudgeIdentity;
  /** labelled items scored (failures excluded) */
  n: number;
  /** items the judge could not score */
  failures: number;
  pearson: number;
  spearman: number;
  mae: number;
  passed: boolean;
  gate: typeof GATE;
  labels: string;
  date: string;
}

export interface Pair {
  id: string;
  label: number;
  score: number;
}

export function recordPath(dir: string, judge: JudgeIdentity): string {
  return join(dir, `${identityName(judge)}.json`);
}

export function passes(r: { pearson: number; mae: number }): boolean {
  return r.pearson >= GATE.minPearson && r.mae <= GATE.maxMae;
}

/** The record of a calibration run: verdicts paired with their labels by id. */
export function calibrationRecord(judge: JudgeIdentity, verdicts: readonly Verdict[], labels: ReadonlyMap<string, number>, labelsFile: string, date = new Date()): { record: CalibrationRecord; pairs: Pair[] } {
  const pairs: Pair[] = [];
  let failures = 0;
  for (const v of verdicts) {
    const label = labels.get(v.id);
    if (label === undefined) throw new Error(`calibrate: verdict '${v.id}' has no label`);
    if (!v.ok) failures++;
    else pairs.push({ id: v.id, label, score: v.overall! });
  }
  if (pairs.length < 2) throw new Error(`calibrate: ${pairs.length} labelled item(s) were scored (${failures} failed); at least 2 are needed`);
  const x = pairs.map((p) => p.score);
  const y = pairs.map((p) => p.label);
  const stats = { pearson: pearson(x, y), spearman: spearman(x, y), mae: mae(x, y) };
  const record: CalibrationRecord = {
    format: 'metacot-calibration-v1',
    name: identityName(judge),
    judge,
    n: pairs.length,
    failures,
    ...stats,
    passed: passes(stats),
    gate: GATE,
    labels: labelsFile,
    date: date.toISOString(),
  };
  return { record, pairs };
}

export async function writeRecord(dir: string, record: CalibrationRecord): Promise<string> {
  const path = recordPath(dir, record.judge);
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

export function readRecord(dir: string, judge: JudgeIdentity): CalibrationRecord | null {
  const path = recordPath(dir, judge);
  if (!existsSync(path)) return null;
  const r = JSON.parse(readFileSync(path, 'utf8')) as CalibrationRecord;
  if (r.format !== 'metacot-calibration-v1' || r.name !== identityName(judge))
    throw new Error(`calibration record '${path}': expected format metacot-calibration-v1 for judge ${identityName(judge)}, received ${JSON.stringify({ format: r.format, name: r.name })}`);
  return r;
}

/**
 * The gate: the judge's passing record, or an error naming the record it wanted. With
 * allowUncalibrated the gate lets the judge through (the caller logs that it did).
 */
export function requireCalibrated(judge: JudgeIdentity, dir: string, opts: { allowUncalibrated?: boolean } = {}): { record: CalibrationRecord | null; overridden: boolean } {
  const path = recordPath(dir, judge);
  const record = readRecord(dir, judge);
  const ok = record !== null && passes(record);
  if (ok) return { record, overridden: false };
  if (opts.allowUncalibrated) return { record, overridden: true };
  const why = record
    ? `its record ${path} does not pass (r ${record.pearson.toFixed(3)}, MAE ${record.mae.toFixed(3)} on ${record.n} items)`
    : `there is no calibration record ${path}`;
  throw new Error(
    `judge ${identityName(judge)} is not calibrated: ${why}; the gate wants Pearson r >= ${GATE.minPearson} and MAE <= ${GATE.maxMae} ` +
      `(run metacot judge calibrate, or pass --allow-uncalibrated to use it anyway)`,
  );
}

/** Judge score against label, one point per item, with the y = x line. */
export function scatterSpec(pairs: readonly Pair[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 320,
    height: 320,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 10, y: 10 }] },
        mark: { type: 'line', color: '#bbb', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: pairs.map((p) => ({ id: p.id, label: p.label, score: p.score })) },
        mark: { type: 'circle', opacity: 0.6, size: 30 },
        encoding: {
          x: { field: 'label', type: 'quantitative', title: 'label (0-10)', scale: { domain: [0, 10] } },
          y: { field: 'score', type: 'quantitative', title: 'judge (0-10)', scale: { domain: [0, 10] } },
          tooltip: [{ field: 'id' }, { field: 'label' }, { field: 'score' }],
        },
      },
    ],
  };
}
