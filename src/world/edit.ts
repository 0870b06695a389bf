// An edit of the world: the instruction, what it does (ops), why (facts), and the two scenes.
// This is the unit a CoT builder reads: the meta-task summary is `metaTasks`, task thinking draws on
// `facts` (the understanding the instruction needs, as data), and target traversal walks the source
// scene's objects against `ops`.

import type { CategoryName, UnderstandingSkill } from './categories.js';
import type { EditOp, GlobalAttribute, MetaTask } from './ops.js';
import type { Point, Scene } from './scene.js';

/** A ninth of the camera view, in reading order. */
export const REGIONS = [
  'top left', 'top', 'top right', 'left', 'center', 'right', 'bottom left', 'bottom', 'bottom right',
] as const;
export type Region = (typeof REGIONS)[number];

export const RELATIONS = ['left of', 'right of', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

export const MOTIONS = ['fall', 'jump', 'slide left', 'slide right'] as const;
export type Motion = (typeof MOTIONS)[number];

/**
 * One piece of understanding an edit relies on. Ids are object ids of the source scene (or, for
 * added objects, of the target scene). `what` strings are the words the instruction uses.
 */
export type ThinkingFact =
  /** Which object the instruction refers to, and its full description. */
  | { kind: 'identify'; id: number; description: string }
  /** Where an object is (region of the view, and its box centre in world units). */
  | { kind: 'locate'; id: number; region: Region; center: Point }
  /** How many objects of a kind there are now. */
  | { kind: 'count'; what: string; ids: number[]; value: number }
  /** How many there should be after the edit. */
  | { kind: 'target_count'; what: string; value: number }
  /** The character a glyph shows. */
  | { kind: 'read'; id: number; text: string }
  /** A spatial relation the edit establishes or relies on: a is <relation> b. */
  | { kind: 'relation'; a: number; relation: Relation; b: number }
  /** A motion worked out by the world's physics: how far, and what stopped it. */
  | { kind: 'physics'; id: number; motion: Motion; distance: number; stop: string }
  /** A process followed over time. */
  | { kind: 'temporal'; rule: string; steps: number }
  /** A cause and the effect it has on the picture. */
  | { kind: 'cause'; cause: string; effect: string }
  /** A rule and the objects it selects. */
  | { kind: 'rule'; rule: string; matches: number[] }
  /** A camera move and the objects it brings into / takes out of view. */
  | { kind: 'camera'; motion: string; entering: number[]; leaving: number[] }
  /** A whole-picture property before and after. */
  | { kind: 'global'; attribute: GlobalAttribute; from: string; to: string };

export interface Edit {
  category: CategoryName;
  /** The instruction as a user would write it (one of several phrasings per category). */
  instruction: string;
  /** What the edit does, in instruction order; applyOps(source, ops) is exactly target. */
  ops: EditOp[];
  /** metaTaskOf(op) for each op, in order (repeats kept: "add, add"). */
  metaTasks: MetaTask[];
  /** Understanding the edit requires (the triplet's third element). */
  understanding: UnderstandingSkill[];
  facts: ThinkingFact[];
  source: Scene;
  target: Scene;
}

/** What a category generator returns: everything but the bookkeeping the sampler fills in. */
export interface EditDraft {
  instruction: string;
  ops: EditOp[];
  facts: ThinkingFact[];
  /** Overrides the category's understanding (multi_instruction: the union of its parts'). */
  understanding?: UnderstandingSkill[];
}
