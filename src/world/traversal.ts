// Target traversal (the third step of the Meta-CoT triplet): every object in the picture, before or
// after the edit, with whether and how it changes, plus the whole-picture changes. A CoT builder
// writes its <traversal> from this; the CEC judge can compare a parsed traversal against it.

import type { Edit } from './edit.js';
import { touchingView } from './layout.js';
import { type EditOp, opObjectIds } from './ops.js';
import { findObject, type Scene, type SceneObject } from './scene.js';

export type TargetStatus = 'keep' | 'change' | 'add' | 'remove' | 'enters view' | 'leaves view';

export interface TargetEntry {
  id: number;
  /** The object as the source shows it (as the target shows it, for added ones). */
  object: SceneObject;
  status: TargetStatus;
  /** The ops that touch it, in instruction order (empty when it is kept as it is). */
  ops: EditOp[];
}

export interface Traversal {
  /** Objects seen in the source or the target picture: source draw order, then added objects. */
  objects: TargetEntry[];
  /** Ops on the whole picture: background, style, tone, camera. */
  globals: EditOp[];
}

export function targetTraversal(edit: Pick<Edit, 'source' | 'target' | 'ops'>): Traversal {
  const seen = (s: Scene) => new Set(touchingView(s).map((o) => o.id));
  const before = seen(edit.source);
  const after = seen(edit.target);
  const objects: TargetEntry[] = [];
  const opsOf = (id: number) => edit.ops.filter((op) => opObjectIds(op).includes(id));
  for (const o of edit.source.objects) {
    if (!before.has(o.id) && !after.has(o.id)) continue;
    const ops = opsOf(o.id);
    let status: TargetStatus;
    if (ops.some((op) => op.op === 'remove')) status = 'remove';
    else if (ops.length > 0) status = 'change';
    else if (!before.has(o.id)) status = 'enters view';
    else if (!after.has(o.id)) status = 'leaves view';
    else status = 'keep';
    objects.push({ id: o.id, object: o, status, ops });
  }
  for (const o of edit.target.objects) {
    if (findObject(edit.source, o.id)) continue;
    objects.push({ id: o.id, object: o, status: 'add', ops: opsOf(o.id) });
  }
  const globals = edit.ops.filter((op) => opObjectIds(op).length === 0);
  return { objects, globals };
}
