// Consistency checks of a parsed CoT beyond its syntax: the summary agrees with the traversal, the
// traversal agrees with the category's meta-task composition, and, given the source scene, every
// reference binds, every object in view is named exactly once, and what the thinking claims to read
// off the picture (counts, text, regions) is true. Each problem points at the text.

import { type MetaTask } from '../world/ops.js';
import { type Scene, viewObjects } from '../world/scene.js';
import type { Cot, ObjectRef, TraversalEntry } from './ast.js';
import { type Binding, bindOps, CotApplyError, describedScene } from './apply.js';
import { compositionProblems, findComposition } from './composition.js';
import { type ParsedCot } from './parse.js';
import { type CotOp, cotOps, CotTypeError, lookAt } from './ops.js';
import { printRef } from './print.js';
import { refOf, regionWords } from './understand.js';
import { lookOf, sameLook } from './values.js';

export interface CotProblem {
  /** Character offset in the CoT text the problem is about. */
  offset: number;
  message: string;
}

export interface ValidateOptions {
  /** The edit's category (world or benchmark): the traversal must use its meta-tasks only. */
  category?: string;
  /** The source scene: references must bind, objects in view must all be named, thinking facts must hold. */
  source?: Scene;
}

/** The meta-task each traversal entry's actions carry out, read off the syntax (no typing needed). */
export function entryMetaTasks(e: TraversalEntry): MetaTask[] {
  switch (e.kind) {
    case 'camera':
      return e.action.kind === 'keep' ? [] : ['camera_motion'];
    case 'global':
      return e.action.kind === 'keep' ? [] : ['replace'];
    case 'object':
      return e.actions.flatMap((a): MetaTask[] => {
        switch (a.kind) {
          case 'keep':
            return [];
          case 'add':
          case 'remove':
            return [a.kind];
          case 'replace':
            return ['replace'];
          case 'move':
            return ['position_change'];
        }
      });
  }
}

export function cotMetaTasks(cot: Cot): MetaTask[] {
  return cot.variant === 'triplet' || cot.variant === 'meta' ? cot.traversal.flatMap(entryMetaTasks) : [];
}

function sorted(list: readonly string[]): string {
  return [...list].sort().join(', ');
}

/** Problems of a parsed CoT; empty when it is consistent. */
export function validateCot(parsed: ParsedCot, opts: ValidateOptions = {}): CotProblem[] {
  const { cot, spans } = parsed;
  const out: CotProblem[] = [];
  const at = (list: number[], i: number) => list[i] ?? spans.end;
  if (cot.variant === 'none') return out;

  if (cot.variant === 'think') {
    if (opts.source) {
      try {
        describedScene(opts.source, cot);
      } catch (err) {
        if (!(err instanceof CotTypeError)) throw err;
        out.push({ offset: at(spans.result, err.entry), message: err.message });
      }
    }
    return out;
  }

  const metas = cotMetaTasks(cot);
  if (metas.length === 0) out.push({ offset: spans.traversal[0] ?? spans.end, message: 'the traversal keeps everything: the edit changes nothing' });
  if (cot.variant === 'meta' && sorted(cot.metaTasks) !== sorted(metas)) {
    out.push({
      offset: spans.summary,
      message: `the meta-task summary says ${cot.metaTasks.join(', ')} but the traversal carries out ${metas.join(', ') || 'nothing'}`,
    });
  }
  if (cot.variant === 'triplet') {
    if (!findComposition(cot.task)) out.push({ offset: spans.summary, message: `unknown task ${JSON.stringify(cot.task)}: not a category of any composition table` });
    else for (const m of compositionProblems(metas, cot.task)) out.push({ offset: spans.summary, message: `task ${cot.task}: ${m}` });
    if (opts.category !== undefined && opts.category !== cot.task && !opts.category.endsWith(`:${cot.task}`)) {
      out.push({ offset: spans.summary, message: `the task summary says ${cot.task}, the edit's category is ${opts.category}` });
    }
  }
  if (opts.category !== undefined && metas.length > 0) {
    for (const m of compositionProblems(metas, opts.category)) out.push({ offset: spans.summary, message: `category ${opts.category}: ${m}` });
  }
  if (opts.source) out.push(...sceneProblems(parsed, opts.source));
  return out.sort((a, b) => a.offset - b.offset);
}

function sceneProblems(parsed: ParsedCot, source: Scene): CotProblem[] {
  const { cot, spans } = parsed;
  if (cot.variant !== 'triplet' && cot.variant !== 'meta') return [];
  const out: CotProblem[] = [];
  const entryAt = (i: number) => spans.traversal[i] ?? spans.end;
  let ops: CotOp[];
  try {
    ops = cotOps(cot);
  } catch (err) {
    if (!(err instanceof CotTypeError)) throw err;
    return [{ offset: entryAt(err.entry), message: err.message }];
  }
  let binding: Binding;
  try {
    binding = bindOps(source, ops);
  } catch (err) {
    if (!(err instanceof CotApplyError)) throw err;
    return [{ offset: entryAt(err.entry), message: err.message }];
  }
  // Every object in view named exactly once (adds name new objects).
  const named = new Map<number, number>();
  const adds = new Set(ops.filter((o) => o.op === 'add').map((o) => o.entry));
  for (const [entry, id] of binding.ids) {
    if (adds.has(entry)) continue;
    const first = named.get(id);
    if (first !== undefined) out.push({ offset: entryAt(entry), message: `names the same object as traversal entry ${first + 1}` });
    else named.set(id, entry);
  }
  const cam = source.camera;
  for (const o of viewObjects(source)) {
    if (!named.has(o.id)) {
      const ref = printRef(refOf(source, o));
      out.push({ offset: spans.end, message: `the traversal does not name ${ref}, which is in view` });
    }
  }
  // Thinking: references must name an object of the source view or one the traversal adds, and
  // what it reads off the picture must be true.
  const addedRefs = ops.filter((o) => o.op === 'add').map((o) => (o.op === 'add' ? o.ref : null)!);
  cot.thinking.forEach((s, i) => {
    const offset = spans.thinking[i] ?? spans.end;
    const refs = s.items.filter((x): x is ObjectRef => typeof x !== 'string');
    for (const r of refs) {
      const l = lookAt(r, i);
      const inSource = viewObjects(source).find((o) => o.x === cam.x + r.x && o.y === cam.y + r.y && sameLook(lookOf(o), l.look));
      const added = addedRefs.some((a) => a.at.x === r.x && a.at.y === r.y && sameLook(a.look, l.look));
      if (!inSource && !added) out.push({ offset, message: `${s.key}: ${printRef(r)} is neither in the source view nor added by the traversal` });
    }
    const words = s.items.filter((x): x is string => typeof x === 'string');
    if (s.key === 'see' && words[0] !== String(viewObjects(source).length)) {
      out.push({ offset, message: `see: the source view holds ${viewObjects(source).length} objects, the thinking says ${words[0]}` });
    }
    if ((s.key === 'read' || s.key === 'locate') && refs.length === 1) {
      const r = refs[0];
      const o = viewObjects(source).find((q) => q.x === cam.x + r.x && q.y === cam.y + r.y);
      const said = words.slice(words.indexOf('=') + 1).join(' ');
      if (o && s.key === 'read' && o.shape === 'glyph' && o.text !== said) out.push({ offset, message: `read: ${printRef(r)} shows ${o.text}, the thinking says ${said}` });
      if (o && s.key === 'locate') {
        const region = regionWords(source, o).join(' ');
        if (region !== said) out.push({ offset, message: `locate: ${printRef(r)} is in the ${region} region, the thinking says ${said}` });
      }
    }
  });
  return out;
}

/** "char 57: message" lines for people. */
export function formatProblems(problems: readonly CotProblem[]): string {
  return problems.map((p) => `char ${p.offset}: ${p.message}`).join('\n');
}

