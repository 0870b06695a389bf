// `metacot cot ...`: check the CoTs of a manifest, annotate real data through a chat endpoint,
// (re)write world CoTs of a variant, build the word-level tokenizer, show one edit's CoT.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { annotateManifest } from '../cot/annotate.js';
import { cotForEdit } from '../cot/build.js';
import { checkManifestLines, type CheckSummary, editOfLine } from '../cot/check.js';
import { COT_VARIANTS, type CotVariant, isCotVariant } from '../cot/grammar.js';
import { buildWorldTokenizer, worldCorpus } from '../data/vocab.js';
import { writeTokenizer } from '../data/tokenizer.js';
import { writeFileAtomic } from '../world/atomic.js';
import { isCategory } from '../world/categories.js';
import { readManifest } from '../world/manifest.js';
import { generateEdit } from '../world/sample.js';
import { SPLITS, type Split } from '../world/splits.js';
import { integer, positive } from './args.js';

function variant(allowed: readonly CotVariant[]) {
  return (value: string): CotVariant => {
    if (!isCotVariant(value) || !allowed.includes(value)) throw new InvalidArgumentError(`--variant must be one of ${allowed.join(', ')}, got "${value}"`);
    return value;
  };
}

function split(value: string): Split | 'all' {
  if (value === 'all' || (SPLITS as readonly string[]).includes(value)) return value as Split | 'all';
  throw new InvalidArgumentError(`--split must be one of ${[...SPLITS, 'all'].join(', ')}, got "${value}"`);
}

const pct = (a: number, b: number) => (b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);

export function formatCheck(s: CheckSummary): string {
  const rows = [`${'category'.padEnd(20)} ${'cots'.padStart(6)} ${'parsed'.padStart(7)} ${'valid'.padStart(7)} ${'exact'.padStart(7)}`];
  for (const [name, c] of Object.entries(s.categories)) {
    rows.push(`${name.padEnd(20)} ${String(c.total).padStart(6)} ${pct(c.parsed, c.total).padStart(7)} ${pct(c.valid, c.total).padStart(7)} ${pct(c.exact, c.total).padStart(7)}`);
  }
  rows.push(
    `total ${s.total} lines, ${s.withCot} with a CoT: parsed ${s.parsed}, valid ${s.valid}, exact ${s.exact} of ${s.checkable} world lines; ` +
      `variants ${COT_VARIANTS.map((v) => `${v} ${s.variants[v]}`).join(', ')}`,
  );
  for (const f of s.failures) rows.push(`  ${f.id} [${f.stage}] ${f.message.split('\n').join('\n    ')}`);
  if (s.failureCount > s.failures.length) rows.push(`  ... and ${s.failureCount - s.failures.length} more failures`);
  return rows.join('\n');
}

export function registerCot(program: Command): void {
  const cot = program.command('cot').description('Meta-CoT: check, annotate and build chains of thought; the word-level tokenizer');

  cot
    .command('check')
    .description('parse every CoT of a manifest, validate it, apply it to the source scene and count exact targets')
    .requiredOption('--manifest <file>', 'manifest (JSONL)')
    .option('--split <which>', 'check train, eval or all lines', split, 'all')
    .option('--max-failures <n>', 'failures listed', integer('--max-failures', 0), 20)
    .option('--json', 'print the summary as JSON: {"total", "parsed", "exact", ...}')
    .option('--fail-on-mismatch', 'exit with status 1 unless every CoT parses, validates and (world lines) gives the target')
    .action(async (opts) => {
      const lines = (await readManifest(resolve(opts.manifest))).filter((l) => opts.split === 'all' || l.split === opts.split);
      const s = checkManifestLines(lines, { maxFailures: opts.maxFailures });
      console.log(opts.json ? JSON.stringify(s, null, 2) : formatCheck(s));
      if (opts.failOnMismatch && (s.parsed < s.withCot || s.valid < s.withCot || s.exact < s.checkable - s.variants.none)) process.exitCode = 1;
    });

  cot
    .command('annotate')
    .description('ask an OpenAI-compatible chat endpoint to write the CoT of every edit of a manifest (resumable)')
    .requiredOption('--manifest <file>', 'input manifest (JSONL)')
    .requiredOption('--endpoint <url>', 'base URL of the API, e.g. http://127.0.0.1:8000/v1')
    .requiredOption('--model <name>', 'model name the endpoint serves')
    .option('--out <file>', 'output manifest (default: rewrite the input)')
    .addOption(new Option('--variant <v>', 'CoT variant to ask for').argParser(variant(['meta', 'triplet'])).default('meta'))
    .option('--concurrency <n>', 'requests in flight', integer('--concurrency', 1, 256), 4)
    .option('--timeout <s>', 'seconds per request', positive('--timeout'), 120)
    .option('--attempts <n>', 'tries per edit, the first included', integer('--attempts', 1, 20), 3)
    .option('--temperature <t>', 'sampling temperature, 0..2', (v: string) => {
      const t = Number(v);
      if (v.trim() === '' || !(t >= 0 && t <= 2)) throw new InvalidArgumentError(`--temperature must be a number in [0, 2], got "${v}"`);
      return t;
    }, 0.2)
    .option('--api-key-env <name>', 'environment variable holding the API key', 'OPENAI_API_KEY')
    .option('--no-images', 'do not send the pictures')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (opts) => {
      const manifest = resolve(opts.manifest);
      const bar = opts.progress && !opts.json
        ? new cliProgress.SingleBar({ format: 'cot annotate [{bar}] {value}/{total} | {duration}s', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      let started = false;
      try {
        const r = await annotateManifest({
          manifest,
          out: opts.out ? resolve(opts.out) : manifest,
          endpoint: opts.endpoint,
          model: opts.model,
          apiKeyEnv: opts.apiKeyEnv,
          variant: opts.variant,
          concurrency: opts.concurrency,
          timeoutMs: Math.round(opts.timeout * 1000),
          attempts: opts.attempts,
          images: opts.images,
          temperature: opts.temperature,
          onProgress: (done, total) => {
            if (!started) bar?.start(total, 0);
            started = true;
            bar?.update(done);
          },
        });
        bar?.stop();
        if (opts.json) console.log(JSON.stringify(r, null, 2));
        else {
          console.log(
            `annotated ${r.out}: ${r.total} lines, ${r.skipped} already done, accepted ${r.accepted} (${r.retried} after a retry), rejected ${r.rejected}; ` +
              `${r.requests} requests in ${r.seconds.toFixed(1)} s; failed tries: ${Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ')}`,
          );
          if (r.rejected > 0) console.log(`rejected: ${r.rejectedIds.slice(0, 20).join(', ')}${r.rejected > 20 ? ', ...' : ''} (rerun to retry them)`);
        }
      } catch (err) {
        bar?.stop();
        throw err;
      }
    });

  cot
    .command('write')
    .description('write the CoT of one variant into every world line of a manifest (rebuilt from its world record)')
    .requiredOption('--manifest <file>', 'world manifest (JSONL)')
    .addOption(new Option('--variant <v>', 'none, think, triplet or meta').argParser(variant(COT_VARIANTS)).makeOptionMandatory())
    .option('--out <file>', 'output manifest (default: rewrite the input)')
    .action(async (opts) => {
      const manifest = resolve(opts.manifest);
      const lines = await readManifest(manifest);
      const raw = (await readFile(manifest, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      let n = 0;
      lines.forEach((l, i) => {
        if (!l.world) return;
        raw[i].cot = cotForEdit(editOfLine(l), opts.variant);
        n++;
      });
      const out = opts.out ? resolve(opts.out) : manifest;
      await writeFileAtomic(out, raw.map((r) => JSON.stringify(r)).join('\n') + (raw.length ? '\n' : ''));
      console.log(`wrote ${opts.variant} CoTs into ${n} of ${lines.length} lines of ${out}`);
    });

  cot
    .command('vocab')
    .description('build the word-level tokenizer of the synthetic world and write it as JSON')
    .requiredOption('--out <file>', 'tokenizer JSON')
    .option('--seed <int>', 'seed of the corpus sample', integer('--seed', -(2 ** 31), 2 ** 32 - 1), 0)
    .option('--per-category <n>', 'edits per category in the corpus', integer('--per-category', 1), 200)
    .option('--check <n>', 'edits per category of an independent sample to measure unknown words on', integer('--check', 0), 20)
    .action(async (opts) => {
      const tok = buildWorldTokenizer({ seed: opts.seed, perCategory: opts.perCategory });
      await writeTokenizer(resolve(opts.out), tok);
      let unknown = 0;
      let total = 0;
      if (opts.check > 0) {
        for (const text of worldCorpus({ seed: opts.seed + 1, perCategory: opts.check })) {
          unknown += tok.unknown(text).length;
          total += tok.encode(text).length;
        }
      }
      console.log(`wrote ${tok.size} tokens to ${resolve(opts.out)}${total ? `; unknown on a fresh sample: ${unknown} of ${total} tokens` : ''}`);
    });

  cot
    .command('show')
    .description('print the CoT of one generated world edit')
    .requiredOption('--category <name>', 'world category')
    .option('--seed <int>', 'edit seed', integer('--seed', -(2 ** 31), 2 ** 32 - 1), 0)
    .addOption(new Option('--variant <v>', 'none, think, triplet or meta').argParser(variant(COT_VARIANTS)).default('meta'))
    .action((opts) => {
      if (!isCategory(opts.category)) throw new InvalidArgumentError(`--category must be a world category, got "${opts.category}"`);
      const { edit } = generateEdit(opts.category, opts.seed);
      console.log(`instruction: ${edit.instruction}`);
      console.log(cotForEdit(edit, opts.variant));
    });
}
