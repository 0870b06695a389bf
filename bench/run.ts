// npm run bench -- NAME [NAME ...] [--json FILE] [--quick]
// Runs bench/NAME.ts (each exports `run`), prints ours vs the peer from the same run with the ratio,
// and writes {"device", "commit", "rows": [{name, ours, peer, unit, ratio}]} to --json FILE.
import { execSync } from 'node:child_process';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeBackend, loadBackend } from '../src/native/loader.js';
import type { BenchFn, BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'types.ts'].includes(f) && !f.endsWith('.d.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

function usage(msg?: string): never {
  if (msg) console.error(`bench: ${msg}`);
  console.error(`usage: npm run bench -- NAME [NAME ...] [--json FILE] [--quick]\n  benchmarks: ${available.join(', ')}`);
  process.exit(2);
}

function deviceName(): string {
  const b = loadBackend();
  if (b.device === 'cuda') return `${b.info.cuda.device}`;
  const c = cpus();
  return `${c[0]?.model ?? 'cpu'} x${c.length} cores (${b.info.simd})`;
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

function fmt(v: number | null, digits = 2): string {
  if (v === null) return '-';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(digits);
}

function printTable(title: string, rows: BenchRow[]): void {
  const head = ['name', 'ours', 'peer', 'unit', 'ratio', 'note'];
  const body = rows.map((r) => [r.name, fmt(r.ours), fmt(r.peer), r.unit, r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n== ${title} ==`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let json: string | null = null;
  let quick = false;
  const names: string[] = [];
  const extra: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      json = argv[++i] ?? usage('--json needs a file name');
    } else if (a === '--quick') quick = true;
    else if (a.startsWith('--')) extra.push(a);
    else names.push(a);
  }
  if (names.length === 0) usage('no benchmark named');
  for (const n of names) if (!available.includes(n)) usage(`unknown benchmark '${n}'`);
  console.log(describeBackend());
  console.log(`device: ${deviceName()}`);
  const all: BenchRow[] = [];
  for (const n of names) {
    const mod = (await import(join(here, `${n}.ts`))) as { run: BenchFn };
    const rows = await mod.run({ args: extra, quick });
    printTable(n, rows);
    all.push(...rows.map((r) => ({ ...r, name: `${n}/${r.name}` })));
  }
  if (json) {
    const tmp = `${json}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ device: deviceName(), commit: commit(), rows: all }, null, 2));
    renameSync(tmp, json);
    console.log(`\nwrote ${json}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
