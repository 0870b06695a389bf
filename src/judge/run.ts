// What the `metacot judge` commands run: scoring a manifest of edits, calibrating a judge against
// labelled samples, and writing labels from world edits scored exactly. Items are judged in chunks
// (images in memory for one chunk at a time); outputs are written atomically.
import { dirname, isAbsolute, join, resolve } from 'node:path';

import { writeFileAtomic } from '../world/atomic.js';
import { decodeImage, encodePng, type RgbImage } from '../world/image.js';
import { readManifest, readWorldManifest, type ManifestLine } from '../world/manifest.js';
import type { Scene } from '../world/scene.js';
import { renderSvg } from '../eval/charts.js';
import { type CalibrationRecord, type Pair, calibrationRecord, scatterSpec, writeRecord } from './calibration.js';
import { itemsFromLines } from './items.js';
import type { LabelRow } from './labels.js';
import { SceneJudge } from './scene.js';
import { type Judge, type JudgeIdentity, type JudgeItem, type Verdict, identityName } from './types.js';

const CHUNK = 64;

/** Judges items in chunks, calling onItem after each verdict. */
export async function judgeAll(judge: Judge, items: readonly JudgeItem[], onItem?: (done: number, v: Verdict) => void): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (let i = 0; i < items.length; i += CHUNK) {
    const base = out.length;
    out.push(...(await judge.score(items.slice(i, i + CHUNK), { onItem: (d, v) => onItem?.(base + d, v) })));
  }
  return out;
}

export interface ScoreSummary {
  judge: JudgeIdentity;
  name: string;
  lines: number;
  scored: number;
  failures: Record<string, number>;
  /** items scored 0 because their CoT did not parse or apply (CEC judges) */
  cotErrors: number;
  overall: number | null;
  scores: Record<string, number>;
  categories: Record<string, { n: number; overall: number }>;
  seconds: number;
  itemsPerSecond: number;
}

export function summarize(judge: JudgeIdentity, verdicts: readonly Verdict[], categoryOf: (id: string) => string | undefined, seconds: number): ScoreSummary {
  const ok = verdicts.filter((v) => v.ok);
  const failures: Record<string, number> = {};
  for (const v of verdicts) if (!v.ok) failures[v.failure!.kind] = (failures[v.failure!.kind] ?? 0) + 1;
  const scores: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const v of ok)
    for (const [k, s] of Object.entries(v.scores ?? {})) {
      scores[k] = (scores[k] ?? 0) + s;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  for (const k of Object.keys(scores)) scores[k] /= counts[k];
  const categories: Record<string, { n: number; overall: number }> = {};
  for (const v of ok) {
    const c = categoryOf(v.id) ?? '(none)';
    const e = (categories[c] ??= { n: 0, overall: 0 });
    e.n++;
    e.overall += v.overall!;
  }
  for (const e of Object.values(categories)) e.overall /= e.n;
  return {
    judge,
    name: identityName(judge),
    lines: verdicts.length,
    scored: ok.length,
    failures,
    cotErrors: ok.filter((v) => v.cotError).length,
    overall: ok.length ? ok.reduce((a, v) => a + v.overall!, 0) / ok.length : null,
    scores,
    categories,
    seconds,
    itemsPerSecond: seconds > 0 ? verdicts.length / seconds : 0,
  };
}

/** `judge score`: every line of a manifest, verdicts.jsonl (manifest order) and summary.json in outDir. */
export async function scoreManifest(
  judge: Judge,
  manifest: string,
  outDir: string,
  opts: { edited?: (line: ManifestLine, id: string) => string | undefined; onItem?: (done: number, total: number, v: Verdict) => void } = {},
): Promise<ScoreSummary> {
  const t0 = performance.now();
  const onItem = opts.onItem;
  const lines = await readManifest(manifest);
  const { items, unusable, order } = await itemsFromLines(lines, dirname(resolve(manifest)), opts.edited ? { edited: opts.edited } : {});
  const category = new Map(order.map((id, i) => [id, lines[i].category]));
  let done = 0;
  for (const v of unusable) onItem?.(++done, order.length, v);
  const scored = await judgeAll(judge, items, (_, v) => onItem?.(++done, order.length, v));
  const byId = new Map([...unusable, ...scored].map((v) => [v.id, v]));
  const verdicts = order.map((id) => byId.get(id)!);
  const summary = summarize(judge.identity, verdicts, (id) => category.get(id), (performance.now() - t0) / 1000);
  await writeFileAtomic(join(outDir, 'verdicts.jsonl'), verdicts.map((v) => `${JSON.stringify({ ...v, category: category.get(v.id) })}\n`).join(''));
  await writeFileAtomic(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

export interface CalibrationOutcome {
  record: CalibrationRecord;
  recordFile: string;
  pairs: Pair[];
  verdicts: Verdict[];
  html: string;
}

/** The world scenes of a world data set's lines, by line id (the scene judges need them). */
export async function worldScenes(dir: string): Promise<Map<string, { sourceScene: Scene; targetScene: Scene }>> {
  const lines = await readWorldManifest(join(dir, 'manifest.jsonl'));
  return new Map(lines.map((l) => [l.id, { sourceScene: l.world.sourceScene, targetScene: l.world.targetScene }]));
}

/** `judge calibrate`: the judge over labelled rows; the record (written to recordsDir) and a scatter report in outDir. */
export async function calibrate(
  judge: Judge,
  rows: readonly LabelRow[],
  root: string,
  opts: { labelsFile: string; recordsDir: string; outDir: string; scenes?: ReadonlyMap<string, { sourceScene: Scene; targetScene: Scene }>; onItem?: (done: number, v: Verdict) => void },
): Promise<CalibrationOutcome> {
  const lines: ManifestLine[] = rows.map((r) => ({ id: r.id, source: r.source, edited: r.edited, instruction: r.instruction, cot: r.cot, category: 'labelled' }));
  const { items, unusable } = await itemsFromLines(lines, root);
  for (const it of items) {
    const s = opts.scenes?.get(it.id);
    if (s) Object.assign(it, s);
  }
  const verdicts = [...unusable, ...(await judgeAll(judge, items, opts.onItem))];
  const labels = new Map(rows.map((r) => [r.id, r.label]));
  const { record, pairs } = calibrationRecord(judge.identity, verdicts, labels, opts.labelsFile);
  const recordFile = await writeRecord(opts.recordsDir, record);
  const svg = await renderSvg(scatterSpec(pairs, `${record.name}: r ${record.pearson.toFixed(3)}, MAE ${record.mae.toFixed(3)}, n ${record.n}`));
  const html = join(opts.outDir, `calibration-${record.name}.html`);
  const verdict = record.passed ? 'passes' : 'does not pass';
  await writeFileAtomic(
    html,
    `<!doctype html><meta charset="utf-8"><title>calibration of ${record.name}</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:2px 10px;text-align:right}</style>
<h1>Calibration of ${record.name}</h1>
<p>${record.n} labelled items scored (${record.failures} failed). The gate wants Pearson r &ge; ${record.gate.minPearson} and MAE &le; ${record.gate.maxMae}: this judge <b>${verdict}</b>.</p>
<table><tr><th>Pearson r</th><th>Spearman &rho;</th><th>MAE</th><th>n</th></tr>
<tr><td>${record.pearson.toFixed(4)}</td><td>${record.spearman.toFixed(4)}</td><td>${record.mae.toFixed(4)}</td><td>${record.n}</td></tr></table>
${svg}
<p>Labels: ${record.labels}. Record: ${recordFile}. ${record.date}</p>\n`,
  );
  await writeFileAtomic(join(opts.outDir, `calibration-${record.name}.json`), `${JSON.stringify({ record, pairs }, null, 2)}\n`);
  return { record, recordFile, pairs, verdicts, html };
}

/** An edited image for a world line, with the CoT it was made with. */
export type Editor = (line: { id: string; source: RgbImage; instruction: string; sourceScene: Scene; targetScene: Scene; cot?: string }) => Promise<{ image: RgbImage; cot: string }>;

/**
 * `judge labels --from-world`: for world lines, an edited image (from `editor`: a model, or the
 * degradations of labelEditors) labelled with the exact gt score; images under <csv dir>/edited/.
 */
export async function labelsFromWorld(worldDir: string, csvFile: string, editor: Editor, opts: { split?: 'train' | 'eval'; limit?: number; onItem?: (done: number, total: number) => void } = {}): Promise<LabelRow[]> {
  const all = await readWorldManifest(join(worldDir, 'manifest.jsonl'), opts.split ? { split: opts.split } : {});
  const lines = opts.limit ? all.slice(0, opts.limit) : all;
  const gt = new SceneJudge('gt');
  const root = dirname(resolve(csvFile));
  const rows: LabelRow[] = [];
  for (const [i, l] of lines.entries()) {
    const source = await decodeImage(isAbsolute(l.source) ? l.source : join(worldDir, l.source));
    const { image, cot } = await editor({ id: l.id, source, instruction: l.instruction, sourceScene: l.world.sourceScene, targetScene: l.world.targetScene, cot: l.cot });
    const v = gt.scoreOne({ id: l.id, source, edited: image, instruction: l.instruction, cot, sourceScene: l.world.sourceScene, targetScene: l.world.targetScene });
    const rel = join('edited', `${l.id}.png`);
    await writeFileAtomic(join(root, rel), await encodePng(image));
    const src = resolve(isAbsolute(l.source) ? l.source : join(worldDir, l.source));
    rows.push({ id: l.id, source: src, edited: rel, instruction: l.instruction, cot, label: v.overall! });
    opts.onItem?.(i + 1, lines.length);
  }
  return rows;
}
