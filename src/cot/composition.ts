// Meta-task composition tables, as data: which of the five meta-tasks (add, remove, replace, camera
// motion, position change) an edit of each category is composed of, and the understanding it needs.
// The 21 categories of the synthetic world (read from the world's own table, so the two can never
// disagree) and the categories of the real benchmarks: GEdit-Bench (11), ImgEdit Basic (9) and
// RISEBench (4). The annotator's consistency pass and the triplet summary check use these.

import { CATEGORIES, CATEGORY_NAMES, type CategoryName, type UnderstandingSkill } from '../world/categories.js';
import type { MetaTask } from '../world/ops.js';

export const BENCHMARKS = ['world', 'gedit', 'imgedit', 'rise'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

export interface Composition {
  benchmark: Benchmark;
  /** The category's name as the benchmark spells it (GEdit's task_type, ImgEdit's edit_type, ...). */
  name: string;
  /** Meta-tasks an edit of the category may be composed of (an edit uses a non-empty subset, maybe repeated). */
  metaTasks: readonly MetaTask[];
  understanding: readonly UnderstandingSkill[];
  /** The synthetic world's category that stands in for it. */
  world: CategoryName;
  /** What the meta-tasks act on, in words. */
  note: string;
}

export const WORLD_CATEGORY_NAMES: readonly string[] = CATEGORY_NAMES;

const WORLD_NOTES: Readonly<Record<CategoryName, string>> = {
  background_change: 'replace the background',
  color_alter: 'replace the colour of an object',
  material_alter: 'replace the texture (material) of an object',
  motion_change: 'move an object as its action (jump, fall, slide) carries it',
  subject_resize: 'replace the size of an object',
  style_change: 'replace the style of the whole picture',
  subject_add: 'add an object',
  subject_remove: 'remove an object',
  subject_replace: 'replace the shape (kind) of an object',
  text_change: 'replace the text an object shows',
  tone_transfer: 'replace the tone of the whole picture',
  temporal_reasoning: 'move, shrink, change or remove an object after k steps of a process',
  causal_reasoning: 'move an object or change the tone as a cause dictates',
  spatial_reasoning: 'add or move objects to satisfy a spatial relation',
  logical_reasoning: 'remove or change the objects a rule selects',
  multi_instruction: 'two or three of the basic edits in one instruction',
  quantity_change: 'add or remove copies to reach a count',
  camera_pan: 'move the camera sideways',
  camera_zoom: 'move the camera in or out',
  position_change: 'move an object to a named place',
  extract: 'remove everything but the target',
};

const world: Composition[] = CATEGORY_NAMES.map((name) => ({
  benchmark: 'world',
  name,
  metaTasks: CATEGORIES[name].metaTasks,
  understanding: CATEGORIES[name].understanding,
  world: name,
  note: WORLD_NOTES[name],
}));

type Row = [name: string, metaTasks: MetaTask[], understanding: UnderstandingSkill[], world: CategoryName, note: string];

function rows(benchmark: Benchmark, list: Row[]): Composition[] {
  return list.map(([name, metaTasks, understanding, w, note]) => ({ benchmark, name, metaTasks, understanding, world: w, note }));
}

/** GEdit-Bench's 11 task types (column task_type of its parquet). */
const gedit = rows('gedit', [
  ['background_change', ['replace'], ['segmentation'], 'background_change', 'replace the background behind the subjects'],
  ['color_alter', ['replace'], ['identification'], 'color_alter', 'replace the colour of a subject'],
  ['material_alter', ['replace'], ['identification'], 'material_alter', 'replace the material or texture of a subject'],
  ['motion_change', ['position_change', 'replace'], ['physics'], 'motion_change', 'change a subject\'s pose or action: its parts move, its state changes'],
  ['ps_human', ['replace'], ['identification'], 'subject_resize', 'retouch a person: replace size, shape or appearance attributes'],
  ['style_change', ['replace'], ['style'], 'style_change', 'replace the style of the whole picture'],
  ['subject-add', ['add'], ['localization'], 'subject_add', 'add a subject at a place'],
  ['subject-remove', ['remove'], ['localization'], 'subject_remove', 'remove a subject'],
  ['subject-replace', ['replace'], ['identification'], 'subject_replace', 'replace one subject by another'],
  ['text_change', ['replace'], ['ocr'], 'text_change', 'replace the text written in the picture'],
  ['tone_transfer', ['replace'], ['tone'], 'tone_transfer', 'replace the tone, light or season of the whole picture'],
]);

/** ImgEdit Basic's 9 edit types (field edit_type). */
const imgedit = rows('imgedit', [
  ['add', ['add'], ['localization'], 'subject_add', 'add an object'],
  ['remove', ['remove'], ['localization'], 'subject_remove', 'remove an object'],
  ['replace', ['replace'], ['identification'], 'subject_replace', 'replace one object by another'],
  ['adjust', ['replace'], ['identification'], 'color_alter', 'replace an attribute of an object (colour, material, appearance)'],
  ['background', ['replace'], ['segmentation'], 'background_change', 'replace the background'],
  ['style', ['replace'], ['style'], 'style_change', 'replace the style of the whole picture'],
  ['action', ['position_change', 'replace'], ['physics'], 'motion_change', 'change what a subject is doing: move it or its parts'],
  ['extract', ['remove'], ['identification'], 'extract', 'remove everything but the target'],
  ['compose', ['add', 'remove', 'replace', 'position_change'], ['localization', 'identification'], 'multi_instruction', 'several edits in one instruction'],
]);

/** RISEBench's 4 reasoning categories (field category). */
const rise = rows('rise', [
  ['temporal', ['replace', 'remove', 'add', 'position_change'], ['temporal'], 'temporal_reasoning', 'show the scene after time passes: things change, move, appear or go'],
  ['causal', ['replace', 'position_change', 'remove'], ['causal', 'physics'], 'causal_reasoning', 'show the effect of a cause: states change, things move or break'],
  ['spatial', ['add', 'position_change', 'camera_motion'], ['spatial'], 'spatial_reasoning', 'arrange, assemble or view the scene by spatial relations'],
  ['logical', ['add', 'remove', 'replace'], ['logic', 'counting'], 'logical_reasoning', 'solve a puzzle in the picture: mark, fill in or clear cells'],
]);

export const COMPOSITIONS: Readonly<Record<Benchmark, readonly Composition[]>> = { world, gedit, imgedit, rise };

/** Looks a category up: "gedit:subject-add" names the benchmark; a bare name tries world, gedit, imgedit, rise in turn. */
export function findComposition(category: string): Composition | undefined {
  const m = /^(world|gedit|imgedit|rise):(.+)$/.exec(category);
  if (m) return COMPOSITIONS[m[1] as Benchmark].find((c) => c.name === m[2]);
  for (const b of BENCHMARKS) {
    const hit = COMPOSITIONS[b].find((c) => c.name === category);
    if (hit) return hit;
  }
  return undefined;
}

export function compositionOf(category: string): Composition {
  const c = findComposition(category);
  if (!c) {
    const all = BENCHMARKS.flatMap((b) => COMPOSITIONS[b].map((x) => `${b}:${x.name}`));
    throw new RangeError(`compositionOf: unknown category ${JSON.stringify(category)}; expected one of ${all.join(', ')}`);
  }
  return c;
}

/** Every category name of every table (bare), for the vocabulary. */
export function allCategoryNames(): string[] {
  const seen = new Set<string>();
  for (const b of BENCHMARKS) for (const c of COMPOSITIONS[b]) seen.add(c.name);
  return [...seen];
}

/**
 * Problems with a list of meta-tasks as an edit of a category: empty, or using a meta-task the
 * category is not composed of. Empty when they agree.
 */
export function compositionProblems(metaTasks: readonly MetaTask[], category: string): string[] {
  const c = findComposition(category);
  if (!c) return [`unknown category ${JSON.stringify(category)}: no composition to check against`];
  if (metaTasks.length === 0) return [`the edit changes nothing, but ${c.benchmark}:${c.name} is composed of ${c.metaTasks.join(' / ')}`];
  const out: string[] = [];
  for (const m of new Set(metaTasks)) {
    if (!c.metaTasks.includes(m)) out.push(`${m} is not a meta-task of ${c.benchmark}:${c.name} (expected ${c.metaTasks.join(' / ')})`);
  }
  return out;
}
