// The CoT structure: what the parser returns and the printer prints. It is syntax only (words and
// numbers, no scene ids), so the same structure serves the synthetic world and annotations of real
// photographs; src/cot/ops.ts types it against the world's values and src/cot/apply.ts binds it to
// a scene.
//
// Coordinates are integer view units relative to the top-left corner of the source picture's view
// (for the world: world units minus the source camera's corner). An object's position is the
// top-left corner of its box.

import type { MetaTask } from '../world/ops.js';
import type { CotVariant, GlobalTarget, PanDirection, ThinkKey } from './grammar.js';

/** `[ medium solid red circle @ 5 11 ]`: an object named by its description and position. */
export interface ObjectRef {
  words: string[];
  x: number;
  y: number;
}

export type ObjectAction =
  | { kind: 'keep' }
  | { kind: 'remove' }
  | { kind: 'add' }
  /** `replace color red -> blue`; values are word runs (`letter K`, `plain red`). */
  | { kind: 'replace'; attribute: string; from: string[]; to: string[] }
  /** `move -> 12 3`: the new top-left corner. */
  | { kind: 'move'; x: number; y: number };

export type CameraAction =
  | { kind: 'keep' }
  /** `pan right 8` or `pan left 8 down 8`. */
  | { kind: 'pan'; moves: { dir: PanDirection; n: number }[] }
  /** `zoom in 2 @ 8 8`: the new view is the old one scaled by 1/factor (in) or factor (out), its corner at (x, y). */
  | { kind: 'zoom'; dir: 'in' | 'out'; factor: number; x: number; y: number };

export type ValueAction = { kind: 'keep' } | { kind: 'replace'; from: string[]; to: string[] };

export interface ObjectEntry {
  kind: 'object';
  ref: ObjectRef;
  /** At least one; `keep` stands alone. */
  actions: ObjectAction[];
}

export type GlobalEntry =
  | { kind: 'global'; target: Exclude<GlobalTarget, 'camera'>; action: ValueAction }
  | { kind: 'camera'; action: CameraAction };

export type TraversalEntry = ObjectEntry | GlobalEntry;

/** A thinking statement: a key and a run of words and object references (`read [ ... ] = K`). */
export interface ThinkStatement {
  key: ThinkKey;
  items: (string | ObjectRef)[];
}

/** One element of the `think` variant's result description. */
export type ResultEntry =
  | { kind: 'object'; ref: ObjectRef }
  | { kind: 'global'; target: Exclude<GlobalTarget, 'camera'>; value: string[] }
  | { kind: 'camera'; action: CameraAction };

export type Cot =
  | { variant: 'none' }
  | { variant: 'think'; reasoning: string[]; result: ResultEntry[] }
  | { variant: 'triplet'; task: string; thinking: ThinkStatement[]; traversal: TraversalEntry[] }
  | { variant: 'meta'; metaTasks: MetaTask[]; thinking: ThinkStatement[]; traversal: TraversalEntry[] };

export type CotOf<V extends CotVariant> = Extract<Cot, { variant: V }>;

/**
 * Where the parts of a parsed CoT start in its text (character offsets), so that checks made after
 * parsing (against a scene, against a category) can still point at the text.
 */
export interface CotSpans {
  summary: number;
  thinking: number[];
  traversal: number[];
  result: number[];
  /** Offset of the end of the text (for "missing ..." problems). */
  end: number;
}
