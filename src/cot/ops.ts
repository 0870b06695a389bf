// A parsed CoT's target traversal as typed operations on the world: each object action becomes a
// CotOp naming its object by what it looks like and where it is (view units), each global change a
// typed replace or camera move. Still scene-independent: src/cot/apply.ts binds the object
// references to a scene's ids. `keep` becomes an op too, so completeness can be checked.

import { type MetaTask, metaTaskOf } from '../world/ops.js';
import type { ColorName, Tone } from '../world/palette.js';
import type { Background, Point, Size, Style, Texture } from '../world/scene.js';
import type { CameraAction, Cot, ObjectRef, ResultEntry, TraversalEntry } from './ast.js';
import { WORLD_ATTRIBUTES, type WorldAttribute } from './grammar.js';
import {
  type ObjectLook, type Read, readAttributeValue, readBackground, readLook, readStyle, readTone, type ShapeValue,
} from './values.js';

/** An object as the CoT names it: its look and its top-left corner in view units. */
export interface LookAt {
  look: ObjectLook;
  at: Point;
}

type Entry = { entry: number };

export type CotReplace =
  | { attribute: 'color'; from: ColorName; to: ColorName }
  | { attribute: 'texture'; from: Texture; to: Texture }
  | { attribute: 'size'; from: Size; to: Size }
  | { attribute: 'text'; from: string; to: string }
  | { attribute: 'shape'; from: ShapeValue; to: ShapeValue };

export type CotGlobalReplace =
  | { attribute: 'background'; from: Background; to: Background }
  | { attribute: 'style'; from: Style; to: Style }
  | { attribute: 'tone'; from: Tone; to: Tone };

export type CotOp =
  | (Entry & { op: 'keep'; ref: LookAt })
  | (Entry & { op: 'remove'; ref: LookAt })
  | (Entry & { op: 'add'; ref: LookAt })
  | (Entry & { op: 'replace'; ref: LookAt } & CotReplace)
  | (Entry & { op: 'move'; ref: LookAt; to: Point })
  | (Entry & { op: 'replace_global' } & CotGlobalReplace)
  | (Entry & { op: 'camera'; action: Exclude<CameraAction, { kind: 'keep' }> });

/** The meta-task of an op (null for keep). */
export function cotMetaTask(op: CotOp): MetaTask | null {
  return op.op === 'keep' ? null : metaTaskOf(op);
}

/** A word run that does not read as a world value (only possible after an open-mode parse). */
export class CotTypeError extends Error {
  constructor(
    readonly entry: number,
    readonly section: 'traversal' | 'result',
    readonly expected: string,
    readonly got: string,
  ) {
    super(`cot: ${section} entry ${entry + 1}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'CotTypeError';
  }
}

function must<T>(r: Read<T>, words: readonly string[], entry: number, section: 'traversal' | 'result' = 'traversal'): T {
  if (!r.ok) throw new CotTypeError(entry, section, r.expected, words.join(' '));
  return r.value;
}

export function lookAt(ref: ObjectRef, entry: number, section: 'traversal' | 'result' = 'traversal'): LookAt {
  return { look: must(readLook(ref.words), ref.words, entry, section), at: { x: ref.x, y: ref.y } };
}

function entryOps(e: TraversalEntry, entry: number): CotOp[] {
  switch (e.kind) {
    case 'camera':
      return e.action.kind === 'keep' ? [] : [{ op: 'camera', entry, action: e.action }];
    case 'global': {
      if (e.action.kind === 'keep') return [];
      const { from, to } = e.action;
      switch (e.target) {
        case 'background':
          return [{ op: 'replace_global', entry, attribute: 'background', from: must(readBackground(from), from, entry), to: must(readBackground(to), to, entry) }];
        case 'style':
          return [{ op: 'replace_global', entry, attribute: 'style', from: must(readStyle(from), from, entry), to: must(readStyle(to), to, entry) }];
        case 'tone':
          return [{ op: 'replace_global', entry, attribute: 'tone', from: must(readTone(from), from, entry), to: must(readTone(to), to, entry) }];
      }
      break;
    }
    case 'object': {
      const ref = lookAt(e.ref, entry);
      return e.actions.map((a): CotOp => {
        switch (a.kind) {
          case 'keep':
          case 'remove':
          case 'add':
            return { op: a.kind, entry, ref };
          case 'move':
            return { op: 'move', entry, ref, to: { x: a.x, y: a.y } };
          case 'replace': {
            if (!(WORLD_ATTRIBUTES as readonly string[]).includes(a.attribute)) {
              throw new CotTypeError(entry, 'traversal', `a world attribute (${WORLD_ATTRIBUTES.join(', ')})`, a.attribute);
            }
            const attribute = a.attribute as WorldAttribute;
            const from = must(readAttributeValue(attribute, a.from), a.from, entry);
            const to = must(readAttributeValue(attribute, a.to), a.to, entry);
            return { op: 'replace', entry, ref, attribute, from, to } as CotOp;
          }
        }
      });
    }
  }
  return [];
}

/**
 * The typed operations of a triplet or meta CoT's traversal, in traversal order (an object's
 * actions in the order written). A `none` CoT has none. A `think` CoT has no traversal: see
 * resultOf. Throws CotTypeError when a description or value is not a world value.
 */
export function cotOps(cot: Cot): CotOp[] {
  if (cot.variant === 'none') return [];
  if (cot.variant === 'think') throw new TypeError('cotOps: a think CoT describes its result instead of a traversal; use resultOf / sceneOps');
  return cot.traversal.flatMap((e, i) => entryOps(e, i));
}

/** The meta-tasks a CoT's traversal carries out, in order (keep excluded). */
export function traversalMetaTasks(ops: readonly CotOp[]): MetaTask[] {
  return ops.map(cotMetaTask).filter((m): m is MetaTask => m !== null);
}

/** The `think` variant's description of the edited picture, typed. */
export interface ResultDescription {
  background: Background;
  style: Style;
  tone: Tone;
  camera: CameraAction;
  objects: LookAt[];
}

export function resultOf(entries: readonly ResultEntry[]): ResultDescription {
  const out: Partial<ResultDescription> & { objects: LookAt[] } = { objects: [] };
  entries.forEach((e, i) => {
    if (e.kind === 'object') out.objects.push(lookAt(e.ref, i, 'result'));
    else if (e.kind === 'camera') out.camera = e.action;
    else if (e.target === 'background') out.background = must(readBackground(e.value), e.value, i, 'result');
    else if (e.target === 'style') out.style = must(readStyle(e.value), e.value, i, 'result');
    else out.tone = must(readTone(e.value), e.value, i, 'result');
  });
  for (const k of ['background', 'style', 'tone', 'camera'] as const) {
    if (out[k] === undefined) throw new CotTypeError(entries.length, 'result', `a ${k} entry`, 'nothing');
  }
  return out as ResultDescription;
}


