// Manifest reading: every line validated; a bad line is reported by number and field.

import { describe, expect, it } from 'vitest';
import { generateEdit } from '../../src/world/sample.js';
import { ManifestError, parseManifest, parseWorldManifest, type WorldManifestLine } from '../../src/world/manifest.js';

function line(i: number): WorldManifestLine {
  const { edit } = generateEdit(i % 2 ? 'color_alter' : 'multi_instruction', i);
  return {
    id: `s${i}`,
    source: `images/s${i}.src.png`,
    instruction: edit.instruction,
    category: edit.category,
    target: `images/s${i}.tgt.png`,
    split: 'train',
    world: { seed: i, sourceScene: edit.source, targetScene: edit.target, ops: edit.ops, metaTasks: edit.metaTasks, understanding: edit.understanding, facts: edit.facts },
  };
}

/** Five good lines as JSONL, with line `bad` (1-based) changed by `mutate`. */
function manifest(bad: number, mutate: (l: Record<string, any>) => void): string {
  return Array.from({ length: 5 }, (_, i) => {
    const l = line(i) as Record<string, any>;
    if (i + 1 === bad) mutate(l);
    return JSON.stringify(l);
  }).join('\n');
}

function error(text: string, world = true): ManifestError {
  try {
    (world ? parseWorldManifest : parseManifest)(text, 'data/manifest.jsonl');
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('manifest reader', () => {
  it('reads good lines, skipping blank ones', () => {
    const text = `${manifest(0, () => undefined)}\n\n`;
    const lines = parseWorldManifest(text);
    expect(lines).toHaveLength(5);
    expect(lines[1].world.ops.length).toBeGreaterThan(0);
    expect(parseManifest(text)).toHaveLength(5);
  });

  it.each([
    ['a wrong type', 3, (l: Record<string, any>) => { l.instruction = 42; }, 'instruction', /expected string/],
    ['a missing field', 2, (l: Record<string, any>) => { delete l.source; }, 'source', /expected string/],
    ['an unknown category', 4, (l: Record<string, any>) => { l.category = 'teleport'; }, 'category', /teleport/],
    ['an unexpected field', 1, (l: Record<string, any>) => { l.colour = 'red'; }, 'colour', /unexpected field/],
    ['a bad colour deep in a scene', 5, (l: Record<string, any>) => { l.world.sourceScene.objects[0].color = 'teal'; }, 'world.sourceScene.objects[0].color', /"teal"/],
    ['a glyph without text', 3, (l: Record<string, any>) => {
      l.world.sourceScene.objects[0].shape = 'glyph';
      delete l.world.sourceScene.objects[0].text;
      l.world.sourceScene.objects[0].texture = 'solid';
      l.world.sourceScene.objects[0].size = 'large';
    }, 'world.sourceScene.objects[0].text', /a glyph needs one of/],
    ['a malformed op', 2, (l: Record<string, any>) => { l.world.ops[0] = { op: 'explode', id: 1 }; }, 'world.ops[0].op', /Invalid discriminator|expected/],
    ['ops that do not produce the target', 2, (l: Record<string, any>) => { l.world.targetScene.tone = l.world.targetScene.tone === 'dark' ? 'warm' : 'dark'; }, 'world.targetScene', /differs from ops applied/],
    ['meta-tasks that disagree with the ops', 4, (l: Record<string, any>) => { l.world.metaTasks = ['camera_motion']; }, 'world.metaTasks', /one per op/],
    ['a bad split', 1, (l: Record<string, any>) => { l.split = 'test'; }, 'split', /"test"|train/],
  ])('names line and field for %s', (_what, bad, mutate, field, detail) => {
    const err = error(manifest(bad, mutate));
    expect(err.line).toBe(bad);
    expect(err.field).toBe(field);
    expect(err.message).toContain(`data/manifest.jsonl line ${bad}: field "${field}"`);
    expect(err.message).toMatch(detail);
  });

  it('names the line of invalid JSON and of a non-object, counting blank lines', () => {
    const good = JSON.stringify(line(0));
    let err = error(`${good}\n\n{"source": "a.png",`);
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/line 3: record: expected a JSON object, got invalid JSON/);
    err = error(`${good}\n[1, 2]`);
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/got \[1,2\]/);
  });

  it('accepts a plain editing manifest (real data: no world record) but not as a world manifest', () => {
    const plain = JSON.stringify({ source: 'a.png', instruction: 'make it red', category: 'color_alter', cot: '<summary> meta : replace </summary>' });
    expect(parseManifest(plain)).toHaveLength(1);
    const err = error(plain, true);
    expect(err.line).toBe(1);
    expect(['id', 'target', 'split', 'world']).toContain(err.field);
  });
});
