// Writing a world data set to disk: PNG images of every source and target, manifest.jsonl (one
// edit per line), understanding.jsonl (questions about the source images) and world.json (how it
// was made). Byte-identical for the same options: no timestamps, lines in a fixed order, every
// file written atomically.

import type { Edit } from './edit.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type CategoryName, isCategory } from './categories.js';
import { AtomicLineWriter, writeFileAtomic } from './atomic.js';
import { encodePng } from './image.js';
import type { WorldManifestLine, QaLine } from './manifest.js';
import { canvasSize, renderScene } from './render.js';
import { hashSeed, Rng } from './rng.js';
import { generateEdit } from './sample.js';
import { DEFAULT_EVAL_FRACTION, sampleSeed, type Split, splitOf } from './splits.js';
import { generateQa } from './understanding.js';

export const DATASET_VERSION = 1;
export const MANIFEST_FILE = 'manifest.jsonl';
export const QA_FILE = 'understanding.jsonl';
export const INFO_FILE = 'world.json';
export const IMAGE_DIR = 'images';

export interface GenerateOptions {
  /** Output folder (created if missing; files of the same names are replaced). */
  out: string;
  /** Samples per category. */
  n: number;
  categories: readonly CategoryName[];
  seed: number;
  width?: number;
  height?: number;
  /** Understanding questions per sample (about its source image); default 2. */
  qaPerSample?: number;
  /** Share of seeds that belong to the eval split; default 0.1. */
  evalFraction?: number;
  /** Keep only samples of one split ('all' keeps both; default). n counts the kept ones. */
  split?: Split | 'all';
  /** PNG encodes and writes in flight at once; default 16. */
  concurrency?: number;
  /** Writes each edit's chain of thought into its manifest line (`--cot VARIANT` passes the CoT
   * builder here; the world itself knows nothing of CoT grammars). */
  cotFor?: (edit: Edit) => string;
  onProgress?: (done: number, total: number) => void;
}

export interface DatasetInfo {
  version: number;
  seed: number;
  n: number;
  categories: CategoryName[];
  width: number;
  height: number;
  qaPerSample: number;
  evalFraction: number;
  split: Split | 'all';
  samples: number;
  questions: number;
  perSplit: Record<Split, number>;
}

export interface DatasetSummary extends DatasetInfo {
  out: string;
  seconds: number;
  /** Mean scenes drawn per valid edit. */
  meanAttempts: number;
}

function checkOptions(o: GenerateOptions): void {
  if (!Number.isInteger(o.n) || o.n < 0) throw new RangeError(`generateDataset: n must be a non-negative integer, got ${o.n}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`generateDataset: seed must be an integer, got ${o.seed}`);
  if (o.categories.length === 0) throw new RangeError('generateDataset: categories must name at least one category, got none');
  for (const c of o.categories) if (!isCategory(c)) throw new RangeError(`generateDataset: unknown category ${JSON.stringify(c)}`);
  const q = o.qaPerSample ?? 2;
  if (!Number.isInteger(q) || q < 0) throw new RangeError(`generateDataset: qaPerSample must be a non-negative integer, got ${q}`);
  const f = o.evalFraction ?? DEFAULT_EVAL_FRACTION;
  if (!(f >= 0 && f <= 1)) throw new RangeError(`generateDataset: evalFraction must be in [0, 1], got ${f}`);
  if ((o.split === 'eval' && f === 0) || (o.split === 'train' && f === 1)) {
    throw new RangeError(`generateDataset: split ${o.split} is empty with evalFraction ${f}`);
  }
}

export async function generateDataset(opts: GenerateOptions): Promise<DatasetSummary> {
  checkOptions(opts);
  const t0 = performance.now();
  const { width, height } = canvasSize({ width: opts.width, height: opts.height });
  const qaPerSample = opts.qaPerSample ?? 2;
  const evalFraction = opts.evalFraction ?? DEFAULT_EVAL_FRACTION;
  const split = opts.split ?? 'all';
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const total = opts.n * opts.categories.length;
  await mkdir(join(opts.out, IMAGE_DIR), { recursive: true });

  const manifest = new AtomicLineWriter(join(opts.out, MANIFEST_FILE));
  const qa = new AtomicLineWriter(join(opts.out, QA_FILE));
  await manifest.open();
  await qa.open();
  const pending = new Set<Promise<void>>();
  let failure: unknown = null;
  const track = (p: Promise<void>) => {
    const q = p.catch((err) => {
      failure ??= err;
    }).finally(() => pending.delete(q));
    pending.add(q);
  };

  let done = 0;
  let attempts = 0;
  let questions = 0;
  const perSplit: Record<Split, number> = { train: 0, eval: 0 };
  try {
    for (const category of opts.categories) {
      for (let index = 0, kept = 0; kept < opts.n; index++) {
        const seed = sampleSeed(opts.seed, category, index);
        const sampleSplit = splitOf(seed, evalFraction);
        if (split !== 'all' && sampleSplit !== split) continue;
        kept++;
        const generated = generateEdit(category, seed, { width, height });
        attempts += generated.attempts;
        const { edit } = generated;
        const id = `${category}-${String(index).padStart(5, '0')}`;
        const source = `${IMAGE_DIR}/${id}.src.png`;
        const target = `${IMAGE_DIR}/${id}.tgt.png`;
        const line: WorldManifestLine = {
          id,
          source,
          instruction: edit.instruction,
          category,
          target,
          ...(opts.cotFor ? { cot: opts.cotFor(edit) } : {}),
          split: sampleSplit,
          world: {
            seed,
            sourceScene: edit.source,
            targetScene: edit.target,
            ops: edit.ops,
            metaTasks: edit.metaTasks,
            understanding: edit.understanding,
            facts: edit.facts,
          },
        };
        await manifest.writeLine(JSON.stringify(line));
        for (const [k, pair] of generateQa(edit.source, new Rng(hashSeed(seed, 'qa')), qaPerSample).entries()) {
          const q: QaLine = { id: `${id}-q${k}`, image: source, sample: id, kind: pair.kind, question: pair.question, answer: pair.answer, ids: pair.ids, split: sampleSplit };
          await qa.writeLine(JSON.stringify(q));
          questions++;
        }
        perSplit[sampleSplit]++;

        const srcImage = renderScene(edit.source, { width, height }).image;
        const tgtImage = renderScene(edit.target, { width, height }).image;
        track(encodePng(srcImage).then((png) => writeFileAtomic(join(opts.out, source), png)));
        track(
          encodePng(tgtImage)
            .then((png) => writeFileAtomic(join(opts.out, target), png))
            .then(() => {
              done++;
              opts.onProgress?.(done, total);
            }),
        );
        while (pending.size >= concurrency) await Promise.race(pending);
        if (failure) throw failure;
      }
    }
    await Promise.all(pending);
    if (failure) throw failure;
    await manifest.commit();
    await qa.commit();
  } catch (err) {
    await Promise.allSettled(pending);
    await manifest.abort();
    await qa.abort();
    throw err;
  }

  const info: DatasetInfo = {
    version: DATASET_VERSION,
    seed: opts.seed,
    n: opts.n,
    categories: [...opts.categories],
    width,
    height,
    qaPerSample,
    evalFraction,
    split,
    samples: total,
    questions,
    perSplit,
  };
  await writeFileAtomic(join(opts.out, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  return { ...info, out: opts.out, seconds: (performance.now() - t0) / 1000, meanAttempts: total === 0 ? 0 : attempts / total };
}
