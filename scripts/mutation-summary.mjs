#!/usr/bin/env node
// `node scripts/mutation-summary.mjs [--table] [--survivors FILE]`: what the committed mutation results
// (reports/stryker-incremental.json) say, in the two forms the project keeps them in.
//
// --table: one markdown row per scoped folder (src/sample and src/world split per file, as
//   bench/RESULTS.md shows them): Stryker's total score killed+timeout / (killed+timeout+survived+no
//   coverage), its covered score (no-coverage mutants left out), and the counts.
// --survivors FILE: rewrites FILE (reports/mutation-survivors.md) with one line per surviving or
//   uncovered mutant, `- file:line Mutator \`replacement\` [no coverage] — reason` (the
//   replacement on one line, cut at 60 characters), keeping the reason
//   an earlier version of FILE gave the same mutant (same file, line, mutator and replacement); a
//   mutant seen for the first time gets "(no reason given yet)", which the review then replaces.
//   Lines of mutants that are now killed drop out. Written atomically (temp file + rename).
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KILLED = new Set(['Killed', 'Timeout']);
export const NO_REASON = '(no reason given yet)';

/** The row a source file is counted in. */
export function folderOf(file) {
  const parts = file.split('/');
  if (parts[1] === 'sample' || parts[1] === 'world') return parts.slice(0, 3).join('/');
  if (file === 'src/eval/compare.ts') return file;
  return parts.slice(0, 2).join('/');
}

/** Per-folder counts and scores. */
export function summarize(report) {
  const rows = new Map();
  for (const [file, entry] of Object.entries(report.files)) {
    const k = folderOf(file);
    if (!rows.has(k)) rows.set(k, { folder: k, killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 });
    const r = rows.get(k);
    for (const m of entry.mutants) {
      if (m.status === 'Killed') r.killed++;
      else if (m.status === 'Timeout') r.timeout++;
      else if (m.status === 'Survived') r.survived++;
      else if (m.status === 'NoCoverage') r.noCoverage++;
      else if (m.status === 'Ignored') r.ignored++;
    }
  }
  return [...rows.values()]
    .sort((a, b) => a.folder.localeCompare(b.folder))
    .map((r) => {
      const detected = r.killed + r.timeout;
      const total = detected + r.survived + r.noCoverage;
      const covered = detected + r.survived;
      return { ...r, total: total ? (100 * detected) / total : NaN, covered: covered ? (100 * detected) / covered : NaN };
    });
}

export function tableOf(rows) {
  const lines = ['| folder | total / covered score | killed | timeout | survived | no cov | ignored (static) |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.folder} | ${r.total.toFixed(2)}% / ${r.covered.toFixed(2)}% | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.ignored} |`);
  return lines.join('\n');
}

/** The part of a survivors line before its reason: what identifies the mutant. */
export function survivorKey(m, file) {
  const shown = (m.replacement ?? '').replace(/\n/g, ' ').slice(0, 60); // one line, long ones cut
  return `${file}:${m.location.start.line} ${m.mutatorName} \`${shown}\`${m.status === 'NoCoverage' ? ' [no coverage]' : ''}`;
}

/** Reasons of an existing survivors file, per key, in file order (a key can repeat). */
export function reasonsOf(text) {
  const reasons = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('- ')) continue;
    const cut = line.indexOf(' — ');
    if (cut < 0) continue;
    const key = line.slice(2, cut);
    if (!reasons.has(key)) reasons.set(key, []);
    reasons.get(key).push(line.slice(cut + 3));
  }
  return reasons;
}

export function survivorsOf(report, oldText = '', title = 'Surviving mutants of reports/stryker-incremental.json, one line each with the review\'s reason') {
  const reasons = reasonsOf(oldText);
  const used = new Map();
  const out = [`# ${title}`, ''];
  let missing = 0;
  for (const file of Object.keys(report.files).sort()) {
    const left = report.files[file].mutants
      .filter((m) => !KILLED.has(m.status) && (m.status === 'Survived' || m.status === 'NoCoverage'))
      .sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column);
    if (left.length === 0) continue;
    out.push('', `### ${file}`);
    for (const m of left) {
      const key = survivorKey(m, file);
      const i = used.get(key) ?? 0;
      used.set(key, i + 1);
      const list = reasons.get(key) ?? [];
      const reason = list[Math.min(i, list.length - 1)] ?? NO_REASON;
      if (reason === NO_REASON) missing++;
      out.push(`- ${key} — ${reason}`);
    }
  }
  return { text: `${out.join('\n')}\n`, missing };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const report = JSON.parse(readFileSync(join(root, 'reports', 'stryker-incremental.json'), 'utf8'));
  if (args.length === 0 || args.includes('--table')) console.log(tableOf(summarize(report)));
  const si = args.indexOf('--survivors');
  if (si >= 0) {
    const file = args[si + 1];
    if (!file || file.startsWith('--')) {
      console.error('mutation-summary: --survivors expected a file, e.g. reports/mutation-survivors.md');
      process.exit(2);
    }
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const firstLine = old.split('\n')[0];
    const { text, missing } = survivorsOf(report, old, firstLine.startsWith('# ') ? firstLine.slice(2) : undefined);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    console.log(`mutation-summary: ${file} written, ${text.split('\n').filter((l) => l.startsWith('- ')).length} mutants, ${missing} without a reason`);
  }
}
