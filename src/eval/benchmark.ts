// The 21-category benchmark on the built-in world, scored exactly (src/world/score.ts): per sample
// Ins / Con / Nat / Art and Overall = sqrt(min(Ins, Con) * min(Nat, Art)), per category the mean,
// over the benchmark the mean of the category means. Eval edits come from eval-split seeds only.
import { tryParseCot } from '../cot/parse.js';
import type { SampleContext } from '../data/samples.js';
import type { MotModel } from '../model/model.js';
import { sampleBatch } from '../sample/batch.js';
import { DEFAULT_EDIT, type EditOptions, type ThinkOutput, noiseKey, samplerOptions, thinkBatch } from '../sample/edit.js';
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

/**
 * Edits every sample, `batchSize` at a time: thinking in one batch (thinkBatch: each edit's CoT is
 * its own thinkCot's), then the images through the batched sampler (each with its seed as noise key:
 * the same images as one-by-one edits), and scores them.
 */
export async function evaluateModel(
  model: MotModel,
  ctx: SampleContext,
  samples: readonly BenchSample[],
  opts: Partial<EditOptions>,
  onProgress?: (done: number, total: number) => void,
  batchSize = 8,
): Promise<BenchResult> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`evaluateModel: argument 'batchSize' expected a positive integer, received ${batchSize}`);
  const o: EditOptions = { ...DEFAULT_EDIT, ...opts };
  const t0 = performance.now();
  const rows: BenchRow[] = [];
  let withCot = 0;
  let parsed = 0;
  for (let start = 0; start < samples.length; start += batchSize) {
    const chunk = samples.slice(start, start + batchSize);
    let thoughts: ThinkOutput[];
    if (o.cot !== undefined) thoughts = chunk.map(() => ({ cot: ctx.tokenizer.decode(ctx.tokenizer.encode(o.cot!)), cotTokens: [], cotComplete: true, seconds: 0 }));
    else if (o.think) thoughts = await thinkBatch(model, ctx, chunk.map((s) => ({ source: s.source, instruction: s.edit.instruction, seed: s.seed })), o);
    else thoughts = chunk.map(() => ({ cot: '', cotTokens: [], cotComplete: false, seconds: 0 }));
    const res = await sampleBatch(
      model,
      ctx,
      chunk.map((s, i) => ({ source: s.source, instruction: s.edit.instruction, cot: thoughts[i].cot, key: noiseKey(s.seed) })),
      samplerOptions(o),
    );
    chunk.forEach((s, i) => {
      const th = thoughts[i];
      const image = res.outputs[i].image;
      const ok = th.cot !== '' && tryParseCot(th.cot).ok;
      if (o.think) {
        withCot++;
        if (ok) parsed++;
      }
      rows.push({ category: s.category, seed: s.seed, scores: scoreEdit(image, s.edit.source, s.edit.target), output: image, cot: th.cot, cotParsed: ok, cotComplete: th.cotComplete });
      onProgress?.(rows.length, samples.length);
    });
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
