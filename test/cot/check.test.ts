// `metacot cot check` (and `cot write`) on a generated world data set: every CoT parses, validates
// and gives its target; broken ones are counted and named with the stage they failed at.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerCot } from '../../src/cli/cot.js';
import { cotForEdit } from '../../src/cot/build.js';
import { checkManifestLines, editOfLine } from '../../src/cot/check.js';
import { generateDataset } from '../../src/world/dataset.js';
import { readManifest } from '../../src/world/manifest.js';

let dir = '';
let manifest = '';

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    const program = new Command().exitOverride();
    registerCot(program);
    await program.parseAsync(['node', 'metacot', 'cot', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metacot-cot-check-'));
  await generateDataset({ out: dir, n: 4, categories: ['color_alter', 'spatial_reasoning', 'camera_zoom', 'multi_instruction', 'quantity_change'], seed: 5, qaPerSample: 0 });
  manifest = join(dir, 'manifest.jsonl');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cot write + cot check', () => {
  it('every variant written into a world manifest checks out (none parses but never gives the target)', async () => {
    for (const v of ['meta', 'triplet', 'think', 'none'] as const) {
      const out = join(dir, `m-${v}.jsonl`);
      expect(await cli('write', '--manifest', manifest, '--variant', v, '--out', out)).toBe(`wrote ${v} CoTs into 20 of 20 lines of ${out}`);
      const s = JSON.parse(await cli('check', '--manifest', out, '--json'));
      expect(s).toMatchObject({ total: 20, withCot: 20, parsed: 20, valid: 20, exact: v === 'none' ? 0 : 20, checkable: 20, failureCount: 0 });
      expect(s.variants[v]).toBe(20);
      expect(Object.keys(s.categories)).toEqual(['color_alter', 'spatial_reasoning', 'camera_zoom', 'multi_instruction', 'quantity_change']);
    }
    // the written CoT is exactly the builder's
    const lines = await readManifest(join(dir, 'm-meta.jsonl'));
    for (const l of lines) expect(l.cot).toBe(cotForEdit(editOfLine(l), 'meta'));
  });

  it('counts and names broken CoTs by stage', async () => {
    const lines = await readManifest(join(dir, 'm-meta.jsonl'));
    lines[0].cot = lines[0].cot!.replace('<traversal>', '<traversal> [ oops');
    // a wrong colour the source does not have: valid syntax, fails binding
    lines[1].cot = lines[1].cot!.replace(/replace color (\w+) ->/, (_m, c: string) => `replace color ${c === 'red' ? 'blue' : 'red'} ->`);
    // a wrong destination: binds, but the implied scene is not the target
    const spatial = lines.findIndex((l) => l.category === 'spatial_reasoning' && /move -> \d+ \d+/.test(l.cot!));
    lines[spatial].cot = lines[spatial].cot!.replace(/move -> (\d+) (\d+)/, (_m, x: string, y: string) => `move -> ${Number(x) + 1} ${y}`);
    delete lines[2].cot;
    const s = checkManifestLines(lines);
    expect(s).toMatchObject({ total: 20, withCot: 19, parsed: 18, checkable: 19, exact: 16 });
    expect(s.failures.map((f) => [f.id, f.stage])).toEqual([
      [lines[0].id, 'parse'],
      [lines[1].id, 'validate'],
      [lines[1].id, 'apply'],
      [lines[spatial].id, 'target'],
    ]);
    expect(s.failures[0].message).toMatch(/^cot: at char \d+ \(word \d+\): expected /);
    expect(s.failures[1].message).toMatch(/^char \d+: cot: traversal entry \d+: replace color/);

    const broken = join(dir, 'broken.jsonl');
    await writeFile(broken, lines.map((l) => JSON.stringify(l)).join('\n'));
    const human = await cli('check', '--manifest', broken);
    expect(human).toMatch(/total 20 lines, 19 with a CoT: parsed 18, valid 17, exact 16 of 19 world lines/);
    expect(human).toContain(`${lines[0].id} [parse] cot: at char`);
    const prev = process.exitCode;
    await cli('check', '--manifest', broken, '--fail-on-mismatch');
    expect(process.exitCode).toBe(1);
    process.exitCode = prev;
  });

  it('real-data lines (no world record) are parsed in open mode and checked against their category', () => {
    const base = { source: 'a.png', instruction: 'Put a cat on the sofa.' };
    const ok = '<summary> meta : add </summary> <thinking> see 1 objects </thinking> <traversal> [ red sofa @ 2 20 ] keep ; [ small grey cat @ 8 14 ] add ; background keep ; style keep ; tone keep ; camera keep </traversal>';
    const s = checkManifestLines([
      { ...base, category: 'subject-add', cot: ok },
      { ...base, category: 'subject-remove', cot: ok },
    ]);
    expect(s).toMatchObject({ withCot: 2, parsed: 2, valid: 1, checkable: 0, exact: 0 });
    expect(s.failures[0].message).toMatch(/category subject-remove: add is not a meta-task of gedit:subject-remove/);
  });

  it('a manifest line the reader rejects names the file, line and field', async () => {
    const bad = join(dir, 'bad.jsonl');
    const text = await readFile(join(dir, 'm-meta.jsonl'), 'utf8');
    await writeFile(bad, text.replace('"instruction":', '"instructions":'));
    await expect(cli('check', '--manifest', bad)).rejects.toThrow(/bad.jsonl line 1: field "instruction(s)?"/);
  });
});
