// 16. multi_instruction: 2-3 edits of the basic categories in one instruction, carried out in order
// on different objects (and at most one change per global property). Each step is phrased against
// the picture as the earlier steps left it ("... then ..."). Understanding: the union of the steps'.

import { CATEGORIES, type CategoryName, MULTI_PARTS, type UnderstandingSkill } from '../categories.js';
import { clause, sentence } from '../describe.js';
import type { EditDraft } from '../edit.js';
import { applyOps, opObjectIds } from '../ops.js';
import { backgroundChange } from './background-change.js';
import { colorAlter } from './color-alter.js';
import type { CategoryGenerator } from './kit.js';
import { materialAlter } from './material-alter.js';
import { positionChange } from './position-change.js';
import { styleChange } from './style-change.js';
import { subjectAdd } from './subject-add.js';
import { subjectRemove } from './subject-remove.js';
import { subjectReplace } from './subject-replace.js';
import { subjectResize } from './subject-resize.js';
import { textChange } from './text-change.js';
import { toneTransfer } from './tone-transfer.js';

const PARTS: Readonly<Partial<Record<CategoryName, CategoryGenerator>>> = {
  background_change: backgroundChange,
  color_alter: colorAlter,
  material_alter: materialAlter,
  subject_resize: subjectResize,
  style_change: styleChange,
  subject_add: subjectAdd,
  subject_remove: subjectRemove,
  subject_replace: subjectReplace,
  text_change: textChange,
  tone_transfer: toneTransfer,
  position_change: positionChange,
};

function join(parts: string[], pick: number): string {
  const [a, b, c] = parts;
  if (parts.length === 2) {
    return [
      `${clause(a)}, then ${clause(b)}`,
      `${clause(a)} and ${clause(b)}`,
      `first ${clause(a)}; after that, ${clause(b)}`,
      `1) ${sentence(a)} 2) ${sentence(b)}`,
    ][pick % 4];
  }
  return [
    `${clause(a)}, ${clause(b)}, and then ${clause(c)}`,
    `first ${clause(a)}; next, ${clause(b)}; finally, ${clause(c)}`,
    `1) ${sentence(a)} 2) ${sentence(b)} 3) ${sentence(c)}`,
  ][pick % 3];
}

export const multiInstruction: CategoryGenerator = {
  category: 'multi_instruction',
  hints: { minObjects: 2, maxObjects: 4 },
  generate(scene, rng) {
    const want = rng.int(2, 3);
    let work = scene;
    const steps: { category: CategoryName; draft: EditDraft }[] = [];
    const touched = new Set<number>();
    const globals = new Set<string>();
    for (const category of rng.shuffle(MULTI_PARTS)) {
      if (steps.length === want) break;
      const gen = PARTS[category];
      if (!gen) throw new Error(`multi_instruction: no generator for part ${category}`);
      const draft = gen.generate(work, rng);
      if (!draft) continue;
      const ids = draft.ops.flatMap(opObjectIds);
      const attrs = draft.ops.flatMap((op) => (op.op === 'replace_global' ? [op.attribute] : []));
      // Different objects per step, so no step undoes or hides another.
      if (ids.some((id) => touched.has(id)) || attrs.some((a) => globals.has(a))) continue;
      work = applyOps(work, draft.ops);
      ids.forEach((id) => touched.add(id));
      attrs.forEach((a) => globals.add(a));
      steps.push({ category, draft });
    }
    if (steps.length < 2) return null;
    const understanding: UnderstandingSkill[] = [];
    for (const { category } of steps) {
      for (const u of CATEGORIES[category].understanding) if (!understanding.includes(u)) understanding.push(u);
    }
    return {
      instruction: sentence(join(steps.map((s) => s.draft.instruction), rng.int(0, 11))),
      ops: steps.flatMap((s) => s.draft.ops),
      facts: steps.flatMap((s) => s.draft.facts),
      understanding,
    };
  },
};
