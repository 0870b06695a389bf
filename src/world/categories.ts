// The 21 edit categories of DESIGN.md section 6 as data: anchor benchmark category, the meta-tasks
// an edit of the category may be composed of, and the understanding it requires. The training
// subsets of the ablations (3meta, 5meta, full) are defined here too.

import type { MetaTask } from './ops.js';

export const CATEGORY_NAMES = [
  'background_change', 'color_alter', 'material_alter', 'motion_change', 'subject_resize',
  'style_change', 'subject_add', 'subject_remove', 'subject_replace', 'text_change',
  'tone_transfer', 'temporal_reasoning', 'causal_reasoning', 'spatial_reasoning', 'logical_reasoning',
  'multi_instruction', 'quantity_change', 'camera_pan', 'camera_zoom', 'position_change', 'extract',
] as const;
export type CategoryName = (typeof CATEGORY_NAMES)[number];

export const UNDERSTANDING_SKILLS = [
  'segmentation', 'identification', 'physics', 'style', 'localization', 'ocr', 'tone',
  'temporal', 'causal', 'spatial', 'logic', 'counting', 'camera',
] as const;
export type UnderstandingSkill = (typeof UNDERSTANDING_SKILLS)[number];

export interface CategoryInfo {
  name: CategoryName;
  /** Position in DESIGN.md's table (1-based). */
  index: number;
  /** The benchmark category this one stands in for. */
  anchor: string;
  /** Meta-tasks an edit of this category may be composed of (each edit uses a subset, maybe repeated). */
  metaTasks: readonly MetaTask[];
  /** True when the change is to the whole picture rather than to objects (style, tone). */
  global: boolean;
  understanding: readonly UnderstandingSkill[];
}

/** Categories multi_instruction composes its 2-3 steps from. */
export const MULTI_PARTS: readonly CategoryName[] = [
  'background_change', 'color_alter', 'material_alter', 'subject_resize', 'style_change', 'subject_add',
  'subject_remove', 'subject_replace', 'text_change', 'tone_transfer', 'position_change',
];

const TABLE: readonly Omit<CategoryInfo, 'index'>[] = [
  { name: 'background_change', anchor: 'GEdit background_change', metaTasks: ['replace'], global: false, understanding: ['segmentation'] },
  { name: 'color_alter', anchor: 'GEdit color_alter', metaTasks: ['replace'], global: false, understanding: ['identification'] },
  { name: 'material_alter', anchor: 'GEdit material_alter', metaTasks: ['replace'], global: false, understanding: ['identification'] },
  { name: 'motion_change', anchor: 'GEdit motion_change', metaTasks: ['position_change'], global: false, understanding: ['physics'] },
  { name: 'subject_resize', anchor: 'GEdit ps_human', metaTasks: ['replace'], global: false, understanding: ['identification'] },
  { name: 'style_change', anchor: 'GEdit style_change', metaTasks: ['replace'], global: true, understanding: ['style'] },
  { name: 'subject_add', anchor: 'GEdit subject-add', metaTasks: ['add'], global: false, understanding: ['localization'] },
  { name: 'subject_remove', anchor: 'GEdit subject-remove', metaTasks: ['remove'], global: false, understanding: ['localization'] },
  { name: 'subject_replace', anchor: 'GEdit subject-replace', metaTasks: ['replace'], global: false, understanding: ['identification'] },
  { name: 'text_change', anchor: 'GEdit text_change', metaTasks: ['replace'], global: false, understanding: ['ocr'] },
  { name: 'tone_transfer', anchor: 'GEdit tone_transfer', metaTasks: ['replace'], global: true, understanding: ['tone'] },
  { name: 'temporal_reasoning', anchor: 'RISE temporal', metaTasks: ['position_change', 'remove', 'replace'], global: false, understanding: ['temporal'] },
  { name: 'causal_reasoning', anchor: 'RISE causal', metaTasks: ['position_change', 'replace'], global: false, understanding: ['causal', 'physics'] },
  { name: 'spatial_reasoning', anchor: 'RISE spatial', metaTasks: ['add', 'position_change'], global: false, understanding: ['spatial'] },
  { name: 'logical_reasoning', anchor: 'RISE logical', metaTasks: ['remove', 'replace'], global: false, understanding: ['logic', 'counting'] },
  { name: 'multi_instruction', anchor: 'Complex-Edit', metaTasks: ['add', 'remove', 'replace', 'position_change'], global: false, understanding: ['segmentation', 'identification', 'style', 'localization', 'ocr', 'tone'] },
  { name: 'quantity_change', anchor: 'new', metaTasks: ['add', 'remove'], global: false, understanding: ['counting'] },
  { name: 'camera_pan', anchor: 'new', metaTasks: ['camera_motion'], global: true, understanding: ['camera'] },
  { name: 'camera_zoom', anchor: 'new', metaTasks: ['camera_motion'], global: true, understanding: ['camera'] },
  { name: 'position_change', anchor: 'new', metaTasks: ['position_change'], global: false, understanding: ['localization'] },
  { name: 'extract', anchor: 'ImgEdit extract', metaTasks: ['remove'], global: false, understanding: ['identification'] },
];

export const CATEGORIES: Readonly<Record<CategoryName, CategoryInfo>> = Object.fromEntries(
  TABLE.map((c, i) => [c.name, { ...c, index: i + 1 }]),
) as Record<CategoryName, CategoryInfo>;

export function isCategory(name: string): name is CategoryName {
  return (CATEGORY_NAMES as readonly string[]).includes(name);
}

/**
 * Training subsets of the ablations (paper: SFT 3 meta / 5 meta / full):
 * - 3meta: data of the three basic object meta-tasks only (add, remove, replace a subject);
 * - 5meta: the categories that are exactly one of the five meta-tasks: the three above plus camera
 *   motion (pan and zoom) and position change;
 * - full: all 21 categories.
 */
export const SUBSETS = {
  '3meta': ['subject_add', 'subject_remove', 'subject_replace'],
  '5meta': ['subject_add', 'subject_remove', 'subject_replace', 'camera_pan', 'camera_zoom', 'position_change'],
  full: CATEGORY_NAMES,
} as const satisfies Record<string, readonly CategoryName[]>;
export type SubsetName = keyof typeof SUBSETS;

/**
 * Parses a category list: comma-separated subset names and/or category names, in order, without
 * repeats. "5meta,text_change" is the 5meta subset plus text_change.
 */
export function parseCategories(spec: string): CategoryName[] {
  const out: CategoryName[] = [];
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new RangeError(`categories: expected a subset (${Object.keys(SUBSETS).join(', ')}) or category names, got ${JSON.stringify(spec)}`);
  for (const part of parts) {
    const names: readonly CategoryName[] | undefined =
      part in SUBSETS ? SUBSETS[part as SubsetName] : isCategory(part) ? [part] : undefined;
    if (!names) {
      throw new RangeError(
        `categories: unknown name ${JSON.stringify(part)}; expected one of the subsets ${Object.keys(SUBSETS).join(', ')} or a category: ${CATEGORY_NAMES.join(', ')}`,
      );
    }
    for (const n of names) if (!out.includes(n)) out.push(n);
  }
  return out;
}
