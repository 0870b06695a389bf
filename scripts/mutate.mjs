#!/usr/bin/env node
// `npm run mutate [-- STRYKER OPTIONS]`: Stryker on a copy of the committed incremental file
// (reports/stryker-incremental.json), merged back when the run ends. Stryker itself writes an
// incremental file holding only the files it mutated in that run, so a narrowed run
// (`-- --mutate "src/train/**/*.ts"`) would otherwise drop every other file's results.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { mergeFiles } from './mutation-merge.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'reports', 'stryker-incremental.json');
const args = process.argv.slice(2);
if (args.some((a) => a === '--incrementalFile' || a.startsWith('--incrementalFile='))) {
  // the caller manages the file: plain Stryker
  process.exit(spawnSync('npx', ['stryker', 'run', ...args], { cwd: root, stdio: 'inherit' }).status ?? 1);
}
const dir = mkdtempSync(join(tmpdir(), 'metacot-mutate-'));
const copy = join(dir, 'incremental.json');
if (existsSync(committed)) copyFileSync(committed, copy);
const r = spawnSync('npx', ['stryker', 'run', ...args, '--incrementalFile', copy], { cwd: root, stdio: 'inherit' });
if (r.status === 0 && existsSync(copy)) {
  const merged = mergeFiles(committed, copy);
  console.log(`mutate: results merged into reports/stryker-incremental.json (${Object.keys(merged.files).length} source files)`);
} else console.error(`mutate: stryker exited with ${r.status ?? r.signal}; reports/stryker-incremental.json left as it was`);
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
