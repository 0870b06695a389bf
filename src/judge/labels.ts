// Labelled samples for calibration: a CSV with the columns id, source, edited, instruction, cot,
// label (0-10); image paths relative to the CSV's folder. Read with csv-parse, written with
// csv-stringify; a bad row is named by its line and column.
import { readFileSync } from 'node:fs';

import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

import { writeFileAtomic } from '../world/atomic.js';

export const LABEL_COLUMNS = ['id', 'source', 'edited', 'instruction', 'cot', 'label'] as const;

export interface LabelRow {
  id: string;
  source: string;
  edited: string;
  instruction: string;
  cot: string;
  label: number;
}

export function parseLabels(text: string, file = 'labels.csv'): LabelRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: false, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new Error(`${file}: not a readable CSV: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${file}: expected a header (${LABEL_COLUMNS.join(',')}) and at least one row, received none`);
  const missing = LABEL_COLUMNS.filter((c) => !(c in records[0]));
  if (missing.length > 0) throw new Error(`${file}: expected the columns ${LABEL_COLUMNS.join(', ')}; missing ${missing.join(', ')}`);
  const seen = new Set<string>();
  return records.map((r, i) => {
    const line = i + 2;
    for (const c of ['id', 'source', 'edited', 'instruction'] as const)
      if (!r[c] || r[c].trim() === '') throw new Error(`${file} line ${line}: column '${c}' expected a value, received an empty one`);
    const label = Number(r.label);
    if (r.label.trim() === '' || !(label >= 0 && label <= 10)) throw new Error(`${file} line ${line}: column 'label' expected a number from 0 to 10, received ${JSON.stringify(r.label)}`);
    if (seen.has(r.id)) throw new Error(`${file} line ${line}: column 'id' expected a unique id, received '${r.id}' a second time`);
    seen.add(r.id);
    return { id: r.id, source: r.source, edited: r.edited, instruction: r.instruction, cot: r.cot ?? '', label };
  });
}

export function readLabels(file: string): LabelRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--labels: cannot read '${file}': ${(e as Error).message}`);
  }
  return parseLabels(text, file);
}

export function labelsCsv(rows: readonly LabelRow[]): string {
  return stringify(rows.map((r) => LABEL_COLUMNS.map((c) => (c === 'label' ? Number(r.label.toFixed(4)) : r[c]))), { header: true, columns: [...LABEL_COLUMNS] });
}

export async function writeLabels(file: string, rows: readonly LabelRow[]): Promise<void> {
  await writeFileAtomic(file, labelsCsv(rows));
}
