// `metacot world generate | show | score` through commander, and the HTML show page.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerWorld } from '../../src/cli/world.js';
import { SUBSETS } from '../../src/world/categories.js';
import { readWorldManifest } from '../../src/world/manifest.js';
import { escapeHtml } from '../../src/world/show.js';

let dir: string;
const logs: string[] = [];

async function run(...args: string[]): Promise<void> {
  const program = new Command().name('metacot').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerWorld(program);
  await program.parseAsync(['node', 'metacot', 'world', ...args]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metacot-cli-'));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    logs.push(a.join(' '));
  });
  await run('generate', '--out', join(dir, 'ds'), '--n', '3', '--categories', '5meta,text_change', '--seed', '3', '--size', '40x32', '--no-progress');
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('metacot world', () => {
  it('generate writes the requested categories, sizes and counts', async () => {
    const lines = await readWorldManifest(join(dir, 'ds', 'manifest.jsonl'));
    expect(lines).toHaveLength(21);
    expect(new Set(lines.map((l) => l.category))).toEqual(new Set([...SUBSETS['5meta'], 'text_change']));
    const info = JSON.parse(await readFile(join(dir, 'ds', 'world.json'), 'utf8'));
    expect([info.width, info.height, info.seed]).toEqual([40, 32, 3]);
    expect(logs.some((l) => /wrote 21 edits \(7 categories x 3/.test(l))).toBe(true);
  });

  it('show writes a page with source, instruction and target per category, images by relative path', async () => {
    await run('show', join(dir, 'ds'), '--per-category', '2');
    const html = await readFile(join(dir, 'ds', 'show.html'), 'utf8');
    const lines = await readWorldManifest(join(dir, 'ds', 'manifest.jsonl'));
    for (const c of [...SUBSETS['5meta'], 'text_change']) expect(html).toContain(`<section id="${c}">`);
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toHaveLength(7 * 2 * 2);
    for (const s of srcs) expect(existsSync(join(dir, 'ds', decodeURIComponent(s)))).toBe(true);
    const shown = lines.filter((l) => srcs.includes(l.source));
    expect(shown).toHaveLength(14);
    for (const l of shown) expect(html).toContain(escapeHtml(l.instruction));
    expect(html).not.toMatch(/<(?!\/?(html|head|meta|title|style|body|h1|h2|p|code|section|div|img|br)\b)[a-z]/);
  });

  it('show --inline embeds the images as data URLs', async () => {
    await run('show', join(dir, 'ds'), '--inline', '--file', 'inline.html', '--per-category', '1');
    const html = await readFile(join(dir, 'ds', 'inline.html'), 'utf8');
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toHaveLength(14);
    for (const s of srcs) expect(s).toMatch(/^data:image\/png;base64,iVBOR/);
  });

  it('score --targets gives 10 everywhere and writes the summary', async () => {
    logs.length = 0;
    await run('score', join(dir, 'ds'), '--targets', '--json', join(dir, 'score.json'));
    expect(logs.join('\n')).toMatch(/benchmark\s+21\s+10\.00\s+10\.00\s+10\.00\s+10\.00\s+10\.00/);
    const summary = JSON.parse(await readFile(join(dir, 'score.json'), 'utf8'));
    expect(summary.benchmark.overall).toBe(10);
    expect(Object.keys(summary.categories)).toHaveLength(7);
  });

  it('score --outputs scores other images and says which are missing', async () => {
    await expect(run('score', join(dir, 'ds'), '--outputs', join(dir, 'nothing-here'))).rejects.toThrow(/21 of 21 outputs missing/);
    await expect(run('score', join(dir, 'ds'))).rejects.toThrow(/exactly one of --outputs/);
  });

  it('names a bad option value and what it expected', async () => {
    await expect(run('generate', '--out', join(dir, 'x'), '--n', 'abc')).rejects.toThrow(/--n must be an integer in 0\.\.inf, got "abc"/);
    await expect(run('generate', '--out', join(dir, 'x'), '--size', '300')).rejects.toThrow(/--size must be N or WxH with sides in 1\.\.256, got "300"/);
    await expect(run('generate', '--out', join(dir, 'x'), '--categories', 'tiny')).rejects.toThrow(/unknown name "tiny"/);
    await expect(run('generate', '--out', join(dir, 'x'), '--eval-fraction', '2')).rejects.toThrow(/--eval-fraction must be a number in \[0, 1\], got "2"/);
    await expect(run('generate', '--n', '1')).rejects.toThrow(/--out/);
  });
});
