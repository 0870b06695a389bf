// Merges a Stryker incremental report into another: a source file of `update` replaces the one of
// `base` (a run narrowed to line ranges of an unchanged file replaces only the mutants it tested:
// the others are kept by id), the other files are kept. Test ids are per report (each run numbers its tests from 0), so every
// test is renamed to one id per (test file, test name) and each mutant's coveredBy / killedBy is
// rewritten to match. A test file in both reports is taken from `update` (the newer run); a base
// mutant that pointed at a test that no longer exists loses that reference, and Stryker's next
// incremental run sees the changed coverage and tests it again.
//
// Why: `npm run mutate -- --mutate <glob>` tests part of the scope, and Stryker writes an incremental
// file holding only that part. scripts/mutate.mjs runs Stryker on a copy and merges it back with this.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const KILLED = new Set(['Killed', 'Timeout']);

/** A mutant's identity across runs (ids are per run: numbers in one file, descriptions in another). */
const keyOf = (m) => `${m.mutatorName}@${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column}=${m.replacement ?? ''}`;

/**
 * @param {any} base @param {any} update
 * @param {{ keepKills?: boolean, only?: (file: string) => boolean }} [opts] keepKills: in an unchanged
 *   file, a mutant the base has killed stays killed when the update (run with fewer tests, e.g. only
 *   the survivors' lines against the module's own tests) lets it survive: the tests that killed it are
 *   still there. only: the files the update run mutated (Stryker's report also carries the other files
 *   of its input incremental file, as they were when the run started: those are not taken). whole:
 *   the files the update mutated in full (no line range): their mutants are the update's alone, so
 *   a base mutant the instrumenter no longer places there does not linger
 * @returns {any} the merged report
 */
export function mergeReports(base, update, opts = {}) {
  const ids = new Map(); // "file\0name" -> new id
  const testFiles = {};
  const rename = new Map([[base, new Map()], [update, new Map()]]); // report -> old id -> new id
  const sources = [
    ...Object.entries(base.testFiles ?? {}).filter(([f]) => !(f in (update.testFiles ?? {}))).map(([f, v]) => [f, v, base]),
    ...Object.entries(update.testFiles ?? {}).map(([f, v]) => [f, v, update]),
  ];
  for (const [file, entry, report] of sources) {
    const tests = entry.tests.map((t) => {
      const key = `${file}\0${t.name}`;
      if (!ids.has(key)) ids.set(key, String(ids.size));
      rename.get(report).set(t.id, ids.get(key));
      return { ...t, id: ids.get(key) };
    });
    testFiles[file] = { ...entry, tests };
  }
  // a base test file replaced by the update's: its old ids map by name to the new tests
  for (const [file, entry] of Object.entries(base.testFiles ?? {}))
    if (file in (update.testFiles ?? {}))
      for (const t of entry.tests) {
        const id = ids.get(`${file}\0${t.name}`);
        if (id !== undefined) rename.get(base).set(t.id, id);
      }
  const remap = (report, list) => (list ?? []).map((id) => rename.get(report).get(id)).filter((id) => id !== undefined);
  const only = opts.only ?? (() => true);
  const taken = Object.fromEntries(Object.entries(update.files).filter(([f]) => only(f)));
  const files = {};
  const mapped = (report, mutants) => mutants.map((m) => ({ ...m, coveredBy: remap(report, m.coveredBy), killedBy: remap(report, m.killedBy) }));
  for (const [file, entry] of Object.entries(base.files)) if (!(file in taken)) files[file] = { ...entry, mutants: mapped(base, entry.mutants) };
  for (const [file, entry] of Object.entries(taken)) {
    const old = base.files[file];
    const fresh = mapped(update, entry.mutants);
    if (old && old.source === entry.source && !(opts.whole ?? (() => false))(file)) {
      // same source: the update's mutants replace theirs, the base's others stay
      const keys = new Set(entry.mutants.map(keyOf));
      const before = new Map(old.mutants.map((m) => [keyOf(m), m]));
      const kept = fresh.map((m) => {
        const b = before.get(keyOf(m));
        return opts.keepKills && b && KILLED.has(b.status) && !KILLED.has(m.status) ? mapped(base, [b])[0] : m;
      });
      files[file] = { ...entry, mutants: [...mapped(base, old.mutants.filter((m) => !keys.has(keyOf(m)))), ...kept] };
    } else files[file] = { ...entry, mutants: fresh };
  }
  const sorted = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  return { ...base, ...update, files: sorted(files), testFiles: sorted(testFiles) };
}

/** The files a run mutates, from its --mutate patterns (globs with * and **, ranges, ! exclusions); none: all. */
export function mutatedFiles(argv) {
  const i = argv.findIndex((a) => a === '--mutate' || a === '-m' || a.startsWith('--mutate='));
  if (i < 0) return () => true;
  const value = argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
  const toRegex = (g) =>
    new RegExp(`^${g.replace(/:\d+(:\d+)?-\d+(:\d+)?$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*\*/g, '.*').replace(/\*/g, '[^/]*')}$`);
  const pats = value.split(',').filter(Boolean);
  const inc = pats.filter((p) => !p.startsWith('!')).map(toRegex);
  const exc = pats.filter((p) => p.startsWith('!')).map((p) => toRegex(p.slice(1)));
  return (f) => inc.some((r) => r.test(f)) && !exc.some((r) => r.test(f));
}

/** The files a run mutates in full: matched by a --mutate pattern without a line range (and not excluded). */
export function wholeFiles(argv) {
  const i = argv.findIndex((a) => a === '--mutate' || a === '-m' || a.startsWith('--mutate='));
  if (i < 0) return () => true;
  const value = argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
  const full = value.split(',').filter((p) => p && !p.startsWith('!') && !/:\d+(:\d+)?-\d+(:\d+)?$/.test(p));
  const excl = value.split(',').filter((p) => p.startsWith('!'));
  return mutatedFiles(['--mutate', [...full, ...excl].join(',')]);
}

/** Merges the report at `updatePath` into the one at `basePath`, written atomically. */
export function mergeFiles(basePath, updatePath, opts = {}) {
  const read = (p) => JSON.parse(readFileSync(p, 'utf8'));
  let base;
  try {
    base = read(basePath);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    base = { files: {}, testFiles: {} };
  }
  const merged = mergeReports(base, read(updatePath), opts);
  const tmp = `${basePath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(merged));
  renameSync(tmp, basePath);
  return merged;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [basePath, updatePath] = process.argv.slice(2);
  if (!basePath || !updatePath) {
    console.error('usage: node scripts/mutation-merge.mjs BASE.json UPDATE.json   (merges UPDATE into BASE)');
    process.exit(2);
  }
  const m = mergeFiles(basePath, updatePath);
  console.log(`mutation-merge: ${Object.keys(m.files).length} source files, ${Object.keys(m.testFiles).length} test files in ${basePath}`);
}
