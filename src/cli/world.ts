// `metacot world ...`: generate synthetic editing data sets, look at them, score outputs against them.

import { cotForEdit } from '../cot/build.js';
import { COT_VARIANTS, type CotVariant } from '../cot/grammar.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../world/atomic.js';
import { parseCategories } from '../world/categories.js';
import { generateDataset, MANIFEST_FILE } from '../world/dataset.js';
import { decodeImage } from '../world/image.js';
import { readWorldManifest } from '../world/manifest.js';
import { scoreEdit, type ScoreSummary, summarizeScores } from '../world/score.js';
import { writeShowPage } from '../world/show.js';
import { SPLITS, type Split } from '../world/splits.js';
import { fraction, integer } from './args.js';

/** "32" or "64x48" -> canvas size. */
function canvas(value: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/.exec(value.trim());
  const width = m ? Number(m[1]) : NaN;
  const height = m && m[2] ? Number(m[2]) : width;
  if (!m || width < 1 || width > 256 || height < 1 || height > 256) {
    throw new InvalidArgumentError(`--size must be N or WxH with sides in 1..256, got "${value}"`);
  }
  return { width, height };
}

function categories(value: string) {
  try {
    return parseCategories(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function split(value: string): Split | 'all' {
  if (value === 'all' || (SPLITS as readonly string[]).includes(value)) return value as Split | 'all';
  throw new InvalidArgumentError(`--split must be one of ${[...SPLITS, 'all'].join(', ')}, got "${value}"`);
}

function fmt(v: number): string {
  return v.toFixed(2).padStart(6);
}

export function formatScoreTable(summary: ScoreSummary): string {
  const rows = [`${'category'.padEnd(20)} ${'n'.padStart(5)} ${'Ins'.padStart(6)} ${'Con'.padStart(6)} ${'Nat'.padStart(6)} ${'Art'.padStart(6)} ${'Overall'.padStart(7)}`];
  for (const [name, s] of Object.entries(summary.categories)) {
    rows.push(`${name.padEnd(20)} ${String(s.n).padStart(5)} ${fmt(s.ins)} ${fmt(s.con)} ${fmt(s.nat)} ${fmt(s.art)} ${fmt(s.overall).padStart(7)}`);
  }
  const b = summary.benchmark;
  rows.push(`${'benchmark'.padEnd(20)} ${String(b.samples).padStart(5)} ${fmt(b.ins)} ${fmt(b.con)} ${fmt(b.nat)} ${fmt(b.art)} ${fmt(b.overall).padStart(7)}`);
  return rows.join('\n');
}

export function registerWorld(program: Command): void {
  const world = program
    .command('world')
    .description('the synthetic editing world: generate data sets, look at them, score outputs against them');

  world
    .command('generate')
    .description('write PNG images, manifest.jsonl (one edit per line) and understanding.jsonl into a folder')
    .requiredOption('--out <dir>', 'output folder')
    .option('--n <count>', 'samples per category', integer('--n', 0), 50)
    .addOption(
      new Option('--categories <list>', 'comma-separated subsets (3meta, 5meta, full) and/or category names')
        .argParser(categories)
        .default(parseCategories('full'), 'full'),
    )
    .option('--seed <int>', 'data set seed', integer('--seed', -(2 ** 31), 2 ** 32 - 1), 0)
    .addOption(new Option('--size <px>', 'canvas: N or WxH pixels, sides 1..256').argParser(canvas).default({ width: 32, height: 32 }, '32'))
    .option('--qa <count>', 'understanding questions per sample', integer('--qa', 0, 32), 2)
    .option('--eval-fraction <f>', 'share of seeds in the eval split', fraction('--eval-fraction'), 0.1)
    .option('--split <which>', 'keep train, eval or all samples', split, 'all')
    .addOption(new Option('--cot <variant>', "write each edit's chain of thought of this variant into the manifest").choices([...COT_VARIANTS]))
    .option('--no-progress', 'no progress bar')
    .action(async (opts) => {
      const total = opts.n * opts.categories.length;
      const variant = opts.cot as CotVariant | undefined;
      const bar = opts.progress
        ? new cliProgress.SingleBar(
            { format: 'world generate [{bar}] {value}/{total} edits | {duration}s', stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
          )
        : null;
      bar?.start(total, 0);
      try {
        const s = await generateDataset({
          out: resolve(opts.out),
          n: opts.n,
          categories: opts.categories,
          seed: opts.seed,
          width: opts.size.width,
          height: opts.size.height,
          qaPerSample: opts.qa,
          evalFraction: opts.evalFraction,
          split: opts.split,
          cotFor: variant ? (edit) => cotForEdit(edit, variant) : undefined,
          onProgress: (done) => bar?.update(done),
        });
        bar?.stop();
        console.log(
          `wrote ${s.samples} edits (${s.categories.length} categories x ${s.n}; train ${s.perSplit.train}, eval ${s.perSplit.eval}) ` +
            `and ${s.questions} questions at ${s.width}x${s.height} to ${s.out} in ${s.seconds.toFixed(1)} s`,
        );
      } catch (err) {
        bar?.stop();
        throw err;
      }
    });

  world
    .command('show')
    .description('write an HTML page with source / instruction / target per category into the data set folder')
    .argument('<dir>', 'data set folder (holds manifest.jsonl)')
    .option('--per-category <count>', 'samples per category', integer('--per-category', 1), 6)
    .option('--inline', 'embed images as data URLs (the page works on its own)')
    .option('--file <name>', 'page file name inside the folder', 'show.html')
    .action(async (dir: string, opts) => {
      const file = await writeShowPage(resolve(dir), { perCategory: opts.perCategory, inline: Boolean(opts.inline), file: opts.file });
      console.log(`wrote ${file}`);
    });

  world
    .command('score')
    .description('score output images (<outputs>/<id>.png) against the data set: Ins, Con, Nat, Art, Overall')
    .argument('<dir>', 'data set folder (holds manifest.jsonl)')
    .option('--outputs <dir>', 'folder of output images named <id>.png')
    .option('--targets', "score the data set's own target images (a self-check: all 10)")
    .option('--split <which>', 'score train, eval or all samples', split, 'all')
    .option('--json <file>', 'also write the summary as JSON')
    .action(async (dir: string, opts) => {
      if (!opts.outputs === !opts.targets) throw new InvalidArgumentError('world score: give exactly one of --outputs <dir> or --targets');
      const root = resolve(dir);
      const lines = await readWorldManifest(join(root, MANIFEST_FILE), opts.split === 'all' ? {} : { split: opts.split });
      const rows = [];
      const missing: string[] = [];
      for (const l of lines) {
        const file = opts.targets ? join(root, l.target) : join(resolve(opts.outputs), `${l.id}.png`);
        if (!existsSync(file)) {
          missing.push(l.id);
          continue;
        }
        const scores = scoreEdit(await decodeImage(file), l.world.sourceScene, l.world.targetScene);
        rows.push({ category: l.category, scores });
      }
      if (missing.length > 0) {
        throw new Error(`world score: ${missing.length} of ${lines.length} outputs missing (expected <outputs>/<id>.png), first: ${missing.slice(0, 3).join(', ')}`);
      }
      const summary = summarizeScores(rows);
      console.log(formatScoreTable(summary));
      if (opts.json) await writeFileAtomic(resolve(opts.json), `${JSON.stringify(summary, null, 2)}\n`);
    });
}
