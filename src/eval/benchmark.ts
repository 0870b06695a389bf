// The 21-category benchmark on the built-in world, scored exactly (src/world/score.ts): per sample
// Ins / Con / Nat / Art and Overall = sqrt(min(Ins, Con) * min(Nat, Art)), per category the mean,
// over the benchmark the mean of the category means. Eval edits come from eval-split seeds only.
import { tryParseCot } from '../cot/parse.js';
import type { SampleContext } from '../data/samples.js';
import type { MotModel } from '../model/model.js';
import { type EditOptions, editImage } from '../sample/edit.js';
import type { CategoryName } from '../world/categories.js';
import type { Edit } from '../world/edit.js';
import type { RgbImage } from '../world/image.js';
import { renderScene } from '../world/render.js';
import { generateEdit } from '../world/sample.js';
import { type EditScores, type ScoreSummary, scoreEdit, summarizeScores } from '../world/score.js';
import { sampleSeed, splitOf } from '../world/splits.js';

export interface BenchSample {
  category: CategoryName;
  seed: number;
  edit: Edit;
  source: RgbImage;
  target: RgbImage;
}

export interface BenchRow {
  category: CategoryName;
  seed: number;
  scores: EditScores;
  output: RgbImage;
  cot: string;
  cotParsed: boolean;
  cotComplete: boolean;
}

export interface BenchResult {
  summary: ScoreSummary;
  /** share of generated CoTs that parse (null when no CoT was generated) */
  cotParseRate: number | null;
  rows: BenchRow[];
  seconds: number;
}

/** `perCategory` eval-split edits of each category (deterministic in seed). */
export function benchSamples(categories: readonly CategoryName[], perCategory: number, seed: number, evalFraction: number, imageSize: number): BenchSample[] {
  const out: BenchSample[] = [];
  for (const category of categories) {
    let found = 0;
    for (let i = 0; found < perCategory; i++) {
      const s = sampleSeed(seed, category, i);
      if (splitOf(s, evalFraction) !== 'eval') continue;
      const edit = generateEdit(category, s, { width: imageSize }).edit;
      out.push({
        category,
        seed: s,
        edit,
        source: renderScene(edit.source, { width: imageSize }).image,
        target: renderScene(edit.target, { width: imageSize }).image,
      });
      found++;
    }
  }
  return out;
}

export async function evaluateModel(
  model: MotModel,
  ctx: SampleContext,
  samples: readonly BenchSample[],
  opts: Partial<EditOptions>,
  onProgress?: (done: number, total: number) => void,
): Promise<BenchResult> {
  const t0 = performance.now();
  const rows: BenchRow[] = [];
  let withCot = 0;
  let parsed = 0;
  for (const [i, s] of samples.entries()) {
    const o = await editImage(model, ctx, s.source, s.edit.instruction, { ...opts, seed: s.seed });
    const ok = o.cot !== '' && tryParseCot(o.cot).ok;
    if (opts.think !== false) {
      withCot++;
      if (ok) parsed++;
    }
    rows.push({ category: s.category, seed: s.seed, scores: scoreEdit(o.image, s.edit.source, s.edit.target), output: o.image, cot: o.cot, cotParsed: ok, cotComplete: o.cotComplete });
    onProgress?.(i + 1, samples.length);
  }
  return {
    summary: summarizeScores(rows),
    cotParseRate: withCot ? parsed / withCot : null,
    rows,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The "copy the input image" baseline. */
export function evaluateCopy(samples: readonly BenchSample[]): BenchResult {
  const t0 = performance.now();
  const rows: BenchRow[] = samples.map((s) => ({
    category: s.category,
    seed: s.seed,
    scores: scoreEdit(s.source, s.edit.source, s.edit.target),
    output: s.source,
    cot: '',
    cotParsed: false,
    cotComplete: false,
  }));
  return { summary: summarizeScores(rows), cotParseRate: null, rows, seconds: (performance.now() - t0) / 1000 };
}

/** {name: {ins, con, nat, art, overall}} rounded for reports */
export function categoryTable(s: ScoreSummary): Record<string, { ins: number; con: number; nat: number; art: number; overall: number; n: number }> {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return Object.fromEntries(
    Object.entries(s.categories).map(([k, v]) => [k, { ins: r(v.ins), con: r(v.con), nat: r(v.nat), art: r(v.art), overall: r(v.overall), n: v.n }]),
  );
}
