// Validity of a generated edit: the target is exactly the ops applied to the source, the edit
// changes the picture, every op is visible, nothing is half in view by accident, and the
// bookkeeping (meta-tasks, understanding) agrees with the category table. The sampler retries until
// an edit passes; tests run the same checks on what the sampler returns.

import { CATEGORIES } from './categories.js';
import type { Edit } from './edit.js';
import { applyOps, metaTaskOf, OpError, opObjectIds, opSummary } from './ops.js';
import { boxesTouch, findObject, inView, objectBox, outOfView, sceneProblems, scenesEqual } from './scene.js';
import { changeRegions } from './score.js';

/** Every op must be responsible for at least this many pixels at the data set's canvas size. */
export const MIN_OP_PIXELS = 3;

const CAMERA_CATEGORIES = new Set(['camera_pan', 'camera_zoom']);

export function editProblems(edit: Edit, width: number, height: number): string[] {
  const problems: string[] = [];
  problems.push(...sceneProblems(edit.source).map((p) => `source.${p.field}: ${p.message}`));
  problems.push(...sceneProblems(edit.target).map((p) => `target.${p.field}: ${p.message}`));
  if (problems.length > 0) return problems;

  try {
    if (!scenesEqual(applyOps(edit.source, edit.ops), edit.target)) problems.push('target: differs from the ops applied to the source');
  } catch (err) {
    if (!(err instanceof OpError)) throw err;
    problems.push(`ops: ${err.message}`);
    return problems;
  }
  if (edit.ops.length === 0) problems.push('ops: the edit does nothing');

  const text = edit.instruction;
  if (text.trim().length < 8) problems.push(`instruction: too short: ${JSON.stringify(text)}`);
  if (/\b(undefined|null|NaN)\b|\[object/.test(text)) problems.push(`instruction: unfilled template: ${JSON.stringify(text)}`);

  const info = CATEGORIES[edit.category];
  const metas = edit.ops.map(metaTaskOf);
  if (JSON.stringify(metas) !== JSON.stringify(edit.metaTasks)) {
    problems.push(`metaTasks: expected ${metas.join(', ')} from the ops, got ${edit.metaTasks.join(', ')}`);
  }
  for (const m of metas) {
    if (!info.metaTasks.includes(m)) problems.push(`metaTasks: ${edit.category} does not compose ${m}`);
  }
  for (const u of edit.understanding) {
    if (!info.understanding.includes(u)) problems.push(`understanding: ${edit.category} does not list ${u}`);
  }

  if (!CAMERA_CATEGORIES.has(edit.category)) {
    // The instruction talks about what is in the picture: ops touch objects in view, and no object
    // ends up cut by the frame.
    for (const op of edit.ops) {
      for (const id of opObjectIds(op)) {
        const o = op.op === 'add' ? op.object : findObject(edit.source, id);
        const scene = op.op === 'add' ? edit.target : edit.source;
        if (o && !inView(scene, o)) problems.push(`ops: ${opSummary(op)} touches object ${id}, which is not fully in view`);
      }
    }
    for (const o of edit.target.objects) {
      if (!inView(edit.target, o) && !outOfView(edit.target, o)) problems.push(`target: object ${o.id} is cut by the frame`);
    }
    const shown = edit.target.objects.filter((o) => inView(edit.target, o));
    for (let i = 0; i < shown.length; i++) {
      for (let j = i + 1; j < shown.length; j++) {
        if (boxesTouch(objectBox(shown[i]), objectBox(shown[j]))) problems.push(`target: objects ${shown[i].id} and ${shown[j].id} overlap`);
      }
    }
  }

  const regions = changeRegions(edit.source, edit.target, width, height);
  regions.perOp.forEach((mask, i) => {
    let pixels = 0;
    for (let p = 0; p < mask.length; p++) pixels += mask[p];
    if (pixels < MIN_OP_PIXELS) {
      problems.push(`ops: ${opSummary(regions.ops[i])} changes ${pixels} pixel(s) at ${width}x${height}, expected >= ${MIN_OP_PIXELS}`);
    }
  });
  return problems;
}
