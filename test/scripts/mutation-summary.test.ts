// scripts/mutation-summary.mjs: the per-folder table counts what the statuses say, and the survivors
// file keeps each mutant's earlier reason, drops mutants now killed and marks new ones.
import { describe, expect, it } from 'vitest';

// @ts-expect-error plain JS script without types
import { folderOf, NO_REASON, reasonsOf, summarize, survivorsOf, tableOf } from '../../scripts/mutation-summary.mjs';

const m = (line: number, status: string, replacement = 'x', mutatorName = 'M') => ({
  mutatorName,
  replacement,
  status,
  location: { start: { line, column: 1 }, end: { line, column: 5 } },
});
const report = {
  files: {
    'src/train/a.ts': { mutants: [m(1, 'Killed'), m(2, 'Timeout'), m(3, 'Survived'), m(4, 'NoCoverage'), m(5, 'Ignored')] },
    'src/train/b.ts': { mutants: [m(1, 'Killed'), m(2, 'Killed'), m(3, 'Killed')] },
    'src/sample/edit.ts': { mutants: [m(7, 'Survived', 'a\nb'), m(7, 'Survived', 'a\nb'), m(9, 'Killed')] },
  },
};

describe('mutation-summary', () => {
  it('groups src/sample and src/world per file, other folders by their first level', () => {
    expect(folderOf('src/train/rl/x.ts')).toBe('src/train');
    expect(folderOf('src/sample/edit.ts')).toBe('src/sample/edit.ts');
    expect(folderOf('src/world/score.ts')).toBe('src/world/score.ts');
    expect(folderOf('src/eval/compare.ts')).toBe('src/eval/compare.ts');
  });

  it('total and covered scores count timeouts as kills and leave ignored mutants out', () => {
    const rows = summarize(report);
    expect(rows.map((r: { folder: string }) => r.folder)).toEqual(['src/sample/edit.ts', 'src/train']);
    const train = rows[1];
    expect(train).toMatchObject({ killed: 4, timeout: 1, survived: 1, noCoverage: 1, ignored: 1 });
    expect(train.total).toBeCloseTo((100 * 5) / 7, 10);
    expect(train.covered).toBeCloseTo((100 * 5) / 6, 10);
    expect(tableOf(rows)).toContain('| src/train | 71.43% / 83.33% | 4 | 1 | 1 | 1 | 1 |');
  });

  it('keeps earlier reasons per mutant, in order for repeated keys, and marks new ones', () => {
    const old = [
      '# title',
      '- src/sample/edit.ts:7 M `a b` — first reason',
      '- src/sample/edit.ts:7 M `a b` — second reason',
      '- src/train/a.ts:3 M `x` — kept reason',
      '- src/train/b.ts:1 M `x` — killed now, dropped',
    ].join('\n');
    expect(reasonsOf(old).get('src/sample/edit.ts:7 M `a b`')).toEqual(['first reason', 'second reason']);
    const { text, missing } = survivorsOf(report, old, 'T');
    const lines = text.split('\n').filter((l: string) => l.startsWith('- '));
    expect(lines).toEqual([
      '- src/sample/edit.ts:7 M `a b` — first reason',
      '- src/sample/edit.ts:7 M `a b` — second reason',
      '- src/train/a.ts:3 M `x` — kept reason',
      `- src/train/a.ts:4 M \`x\` [no coverage] — ${NO_REASON}`,
    ]);
    expect(missing).toBe(1);
    expect(text.startsWith('# T\n')).toBe(true);
    expect(text).toContain('### src/train/a.ts');
    expect(text).not.toContain('### src/train/b.ts');
  });

  it('cuts long replacements at 60 characters', () => {
    const long = 'y'.repeat(80);
    const { text } = survivorsOf({ files: { 'src/x.ts': { mutants: [m(1, 'Survived', long)] } } });
    expect(text).toContain(`\`${'y'.repeat(60)}\``);
    expect(text).not.toContain('y'.repeat(61));
  });
});
