#!/usr/bin/env node
// `npm run mutate [-- STRYKER OPTIONS]`: Stryker on a copy of the committed incremental file
// (reports/stryker-incremental.json), merged back when the run ends. Stryker itself writes an
// incremental file holding only the files it mutated in that run, so a narrowed run
// (`-- --mutate "src/train/**/*.ts"`) would otherwise drop every other file's results.
//
// `-- --survivors src/ops[,src/train ...]` retests only the lines of the mutants that survived (or had
// no coverage) in the committed results under those folders — after new tests, with `--testFiles` to
// run only the module's own tests — and keeps every earlier kill (its tests are still there).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { mergeFiles, mutatedFiles, wholeFiles } from './mutation-merge.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'reports', 'stryker-incremental.json');
let args = process.argv.slice(2);
let keepKills = false;
const si = args.findIndex((a) => a === '--survivors' || a.startsWith('--survivors='));
if (si >= 0) {
  const value = args[si].includes('=') ? args[si].split('=')[1] : args[si + 1];
  const prefixes = (value ?? '').split(',').filter(Boolean);
  if (prefixes.length === 0 || prefixes.some((p) => p.startsWith('--'))) {
    console.error('mutate: --survivors expected folders or files, e.g. --survivors src/ops,src/train');
    process.exit(2);
  }
  args = args.filter((_, i) => i !== si && !(i === si + 1 && !args[si].includes('=')));
  const report = JSON.parse(readFileSync(committed, 'utf8'));
  const ranges = [];
  for (const [file, entry] of Object.entries(report.files))
    if (prefixes.some((p) => file === p || file.startsWith(p.endsWith('/') ? p : `${p}/`)))
      for (const m of entry.mutants)
        if (m.status === 'Survived' || m.status === 'NoCoverage') ranges.push(`${file}:${m.location.start.line}-${m.location.end.line}`);
  if (ranges.length === 0) {
    console.log(`mutate: no surviving mutants under ${prefixes.join(', ')}`);
    process.exit(0);
  }
  const unique = [...new Set(ranges)];
  console.log(`mutate: retesting ${unique.length} line ranges of surviving mutants under ${prefixes.join(', ')}`);
  args.push('--mutate', unique.join(','));
  keepKills = true;
}
if (args.some((a) => a === '--incrementalFile' || a.startsWith('--incrementalFile='))) {
  // the caller manages the file: plain Stryker
  process.exit(spawnSync('npx', ['stryker', 'run', ...args], { cwd: root, stdio: 'inherit' }).status ?? 1);
}
const dir = mkdtempSync(join(tmpdir(), 'metacot-mutate-'));
const copy = join(dir, 'incremental.json');
if (existsSync(committed)) copyFileSync(committed, copy);
const r = spawnSync('npx', ['stryker', 'run', ...args, '--incrementalFile', copy], { cwd: root, stdio: 'inherit' });
if (r.status === 0 && existsSync(copy)) {
  const merged = mergeFiles(committed, copy, { keepKills, only: mutatedFiles(args), whole: wholeFiles(args) });
  console.log(`mutate: results merged into reports/stryker-incremental.json (${Object.keys(merged.files).length} source files)`);
} else console.error(`mutate: stryker exited with ${r.status ?? r.signal}; reports/stryker-incremental.json left as it was`);
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
