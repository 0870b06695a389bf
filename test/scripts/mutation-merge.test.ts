// scripts/mutation-merge.mjs: a narrowed Stryker run's incremental report merged into the committed
// one keeps every other file, and every mutant still points at the tests it pointed at (by name).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// @ts-expect-error plain JS script without types
import { mergeFiles, mergeReports, mutatedFiles, wholeFiles } from '../../scripts/mutation-merge.mjs';

// a mutant is the same across runs by its mutator, location and replacement (ids are per run)
const mutant = (id: string, status: string, coveredBy: string[], killedBy: string[] = []) => ({
  id: `${id}#${status}`,
  status,
  coveredBy,
  killedBy,
  mutatorName: 'M',
  replacement: id,
  location: { start: { line: 3, column: 1 }, end: { line: 3, column: 9 } },
});
const base = {
  schemaVersion: '1',
  files: { 'src/a.ts': { source: 'a1', mutants: [mutant('a', 'Killed', ['0', '1'], ['1'])] }, 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Survived', ['2'])] } },
  testFiles: {
    't/a.test.ts': { source: 'ta', tests: [{ id: '0', name: 'a one' }, { id: '1', name: 'a two' }] },
    't/b.test.ts': { source: 'tb', tests: [{ id: '2', name: 'b one' }, { id: '3', name: 'b gone' }] },
  },
};
// a run narrowed to src/b.ts, numbering its tests from 0; t/b.test.ts changed (a test renamed away, one added)
const update = {
  schemaVersion: '2',
  files: { 'src/b.ts': { source: 'b2', mutants: [mutant('b', 'Killed', ['0', '1'], ['1'])] } },
  testFiles: { 't/b.test.ts': { source: 'tb2', tests: [{ id: '0', name: 'b one' }, { id: '1', name: 'b new' }] } },
};

describe('mutation-merge', () => {
  it('replaces the updated files, keeps the others, and remaps test ids by (file, name)', () => {
    const m = mergeReports(base, update);
    expect(Object.keys(m.files)).toEqual(['src/a.ts', 'src/b.ts']);
    expect(m.files['src/b.ts'].source).toBe('b2');
    expect(m.schemaVersion).toBe('2');
    const name = (id: string) => Object.entries(m.testFiles as Record<string, { tests: { id: string; name: string }[] }>).flatMap(([f, v]) => v.tests.filter((t) => t.id === id).map((t) => `${f}:${t.name}`))[0];
    const all = Object.values(m.testFiles as Record<string, { tests: { id: string }[] }>).flatMap((v) => v.tests.map((t) => t.id));
    expect(new Set(all).size).toBe(all.length);
    expect(m.testFiles['t/b.test.ts'].source).toBe('tb2');
    expect(m.testFiles['t/b.test.ts'].tests.map((t: { name: string }) => t.name)).toEqual(['b one', 'b new']);
    const a = m.files['src/a.ts'].mutants[0];
    expect(a.coveredBy.map(name)).toEqual(['t/a.test.ts:a one', 't/a.test.ts:a two']);
    expect(a.killedBy.map(name)).toEqual(['t/a.test.ts:a two']);
    const b = m.files['src/b.ts'].mutants[0];
    expect(b.coveredBy.map(name)).toEqual(['t/b.test.ts:b one', 't/b.test.ts:b new']);
    expect(b.killedBy.map(name)).toEqual(['t/b.test.ts:b new']);
  });

  it('a kept mutant loses a reference to a test the newer run no longer has, and keeps the rest', () => {
    const withGone = { ...base, files: { ...base.files, 'src/c.ts': { source: 'c', mutants: [mutant('c', 'Killed', ['2', '3'], ['3'])] } } };
    const m = mergeReports(withGone, update);
    const c = m.files['src/c.ts'].mutants[0];
    expect(c.coveredBy).toHaveLength(1);
    expect(m.testFiles['t/b.test.ts'].tests.find((t: { id: string }) => t.id === c.coveredBy[0]).name).toBe('b one');
    expect(c.killedBy).toEqual([]);
  });

  it('a run narrowed to lines of an unchanged file replaces only the mutants it tested; a changed file is replaced whole', () => {
    const two = { ...base, files: { ...base.files, 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Survived', ['2']), mutant('b2', 'Killed', ['2'], ['2'])] } } };
    const narrowed = { ...update, files: { 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Killed', ['0'], ['0'])] } } };
    const m = mergeReports(two, narrowed);
    const byId = Object.fromEntries(m.files['src/b.ts'].mutants.map((x: { replacement: string; status: string }) => [x.replacement, x.status]));
    expect(byId).toEqual({ b: 'Killed', b2: 'Killed' });
    const changed = mergeReports(two, { ...narrowed, files: { 'src/b.ts': { ...narrowed.files['src/b.ts'], source: 'b2' } } });
    expect(changed.files['src/b.ts'].mutants.map((x: { replacement: string }) => x.replacement)).toEqual(['b']);
  });

  it('whole: an unchanged file the run mutated in full keeps none of the base mutants the run did not place', () => {
    const two = { ...base, files: { ...base.files, 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Survived', ['2']), mutant('gone', 'Survived', ['2'])] } } };
    const full = { ...update, files: { 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Killed', ['0'], ['0'])] } } };
    const m = mergeReports(two, full, { whole: (f: string) => f === 'src/b.ts' });
    expect(m.files['src/b.ts'].mutants.map((x: { replacement: string }) => x.replacement)).toEqual(['b']);
    const w = wholeFiles(['--mutate', 'src/b.ts,src/c.ts:3-4,src/d/*.ts,!src/d/x.ts']);
    expect(['src/b.ts', 'src/d/y.ts'].every(w)).toBe(true);
    expect(['src/c.ts', 'src/d/x.ts', 'src/e.ts'].some(w)).toBe(false);
    expect(wholeFiles(['--force'])('src/any.ts')).toBe(true);
    expect(wholeFiles(['--mutate', 'src/c.ts:3-4'])('src/c.ts')).toBe(false);
  });

  it('keepKills: a kill of the base stays when a narrower run lets the mutant survive; survivors take the new result', () => {
    const two = { ...base, files: { ...base.files, 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Survived', ['2']), mutant('k', 'Killed', ['2'], ['2'])] } } };
    const narrowed = { ...update, files: { 'src/b.ts': { source: 'b1', mutants: [mutant('b', 'Killed', ['0']), mutant('k', 'Survived', ['0'])] } } };
    const status = (r: { files: Record<string, { mutants: { replacement: string; status: string }[] }> }) => Object.fromEntries(r.files['src/b.ts'].mutants.map((x) => [x.replacement, x.status]));
    expect(status(mergeReports(two, narrowed, { keepKills: true }))).toEqual({ b: 'Killed', k: 'Killed' });
    expect(status(mergeReports(two, narrowed))).toEqual({ b: 'Killed', k: 'Survived' });
  });

  it("only: files of the update that its run did not mutate (carried over from its input) are not taken", () => {
    const carried = { ...update, files: { ...update.files, 'src/a.ts': { source: 'a1', mutants: [mutant('a', 'Survived', [])] } } };
    const m = mergeReports(base, carried, { only: (f: string) => f === 'src/b.ts' });
    expect(m.files['src/a.ts'].mutants[0].status).toBe('Killed');
    expect(m.files['src/b.ts'].source).toBe('b2');
  });

  it('mutatedFiles: the files a --mutate list names, with globs, line ranges and exclusions', () => {
    const f = mutatedFiles(['--force', '--mutate', 'src/train/**/*.ts,src/ops/*.ts,!src/ops/cases.ts,src/world/score.ts:10-12,src/a.ts:3:1-4:2']);
    expect(['src/train/rl.ts', 'src/train/x/y.ts', 'src/ops/gemm.ts', 'src/world/score.ts', 'src/a.ts'].every(f)).toBe(true);
    expect(['src/ops/cases.ts', 'src/ops/sub/z.ts', 'src/world/scoreX.ts', 'src/trainer/a.ts', 'xsrc/a.ts'].some(f)).toBe(false);
    expect(mutatedFiles(['--mutate=src/ops/grpo.ts'])('src/ops/grpo.ts')).toBe(true);
    expect(mutatedFiles(['--force'])('anything')).toBe(true);
  });

  it('mergeFiles writes the merge over the base file, and starts from nothing when there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-'));
    writeFileSync(join(dir, 'u.json'), JSON.stringify(update));
    mergeFiles(join(dir, 'none.json'), join(dir, 'u.json'));
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'none.json'), 'utf8')).files)).toEqual(['src/b.ts']);
    writeFileSync(join(dir, 'base.json'), JSON.stringify(base));
    mergeFiles(join(dir, 'base.json'), join(dir, 'u.json'));
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')).files)).toEqual(['src/a.ts', 'src/b.ts']);
  });
});
