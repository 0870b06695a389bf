// Edit operations: the structured description of what an edit does, one entry per change to one
// object or one global property. Every category's edit is a list of these, applying them to the
// source scene gives the target scene exactly, and each maps to one of the five meta-tasks. A CoT
// builder traverses them; the CEC judge turns a parsed CoT back into them and applies them.

import type { ColorName, Tone } from './palette.js';
import {
  type Background, type Camera, type Point, type Scene, type SceneObject, type Shape, type Size, type Style,
  type Texture, canonicalObject, cloneScene, findObject, SIZE_UNITS,
} from './scene.js';

export const META_TASKS = ['add', 'remove', 'replace', 'camera_motion', 'position_change'] as const;
export type MetaTask = (typeof META_TASKS)[number];

export type ObjectAttribute = 'shape' | 'text' | 'color' | 'texture' | 'size';
export type GlobalAttribute = 'background' | 'style' | 'tone';

/** Change one attribute of one object. A size change keeps the box centre (see resizedCorner). */
export type ReplaceOp =
  | { op: 'replace'; id: number; attribute: 'shape'; from: Shape; to: Shape; /** new glyph's character */ text?: string }
  | { op: 'replace'; id: number; attribute: 'text'; from: string; to: string }
  | { op: 'replace'; id: number; attribute: 'color'; from: ColorName; to: ColorName }
  | { op: 'replace'; id: number; attribute: 'texture'; from: Texture; to: Texture }
  | { op: 'replace'; id: number; attribute: 'size'; from: Size; to: Size };

/** Change a property of the whole picture. */
export type GlobalReplaceOp =
  | { op: 'replace_global'; attribute: 'background'; from: Background; to: Background }
  | { op: 'replace_global'; attribute: 'style'; from: Style; to: Style }
  | { op: 'replace_global'; attribute: 'tone'; from: Tone; to: Tone };

export type AddOp = { op: 'add'; object: SceneObject };
export type RemoveOp = { op: 'remove'; id: number };
/** Move an object's top-left corner (its shape, colour and size stay). */
export type MoveOp = { op: 'move'; id: number; from: Point; to: Point };
/** Move or resize the camera window over the world plane (pan, zoom). */
export type CameraOp = { op: 'camera'; from: Camera; to: Camera };

export type EditOp = AddOp | RemoveOp | ReplaceOp | GlobalReplaceOp | MoveOp | CameraOp;

export function metaTaskOf(op: Pick<EditOp, 'op'>): MetaTask {
  switch (op.op) {
    case 'add':
      return 'add';
    case 'remove':
      return 'remove';
    case 'replace':
    case 'replace_global':
      return 'replace';
    case 'move':
      return 'position_change';
    case 'camera':
      return 'camera_motion';
  }
}

/** The object ids an op touches (none for global and camera ops). */
export function opObjectIds(op: EditOp): number[] {
  switch (op.op) {
    case 'add':
      return [op.object.id];
    case 'remove':
    case 'replace':
    case 'move':
      return [op.id];
    default:
      return [];
  }
}

/**
 * Where the top-left corner goes when an object changes size, so that its centre stays put.
 * Truncation toward zero makes a resize and its inverse cancel exactly (5->10->5 returns home).
 */
export function resizedCorner(o: Pick<SceneObject, 'x' | 'y' | 'size'>, to: Size): Point {
  const d = Math.trunc((SIZE_UNITS[o.size] - SIZE_UNITS[to]) / 2);
  return { x: o.x + d, y: o.y + d };
}

export class OpError extends Error {
  constructor(
    readonly index: number,
    readonly op: EditOp,
    reason: string,
  ) {
    super(`applyOps: op ${index} (${op.op}${'attribute' in op ? ` ${op.attribute}` : ''}) ${reason}`);
    this.name = 'OpError';
  }
}

function same<T>(a: T, b: T): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies one op in place; throws OpError when the op does not fit the scene. */
function applyOne(scene: Scene, op: EditOp, index: number): void {
  const fail = (reason: string): never => {
    throw new OpError(index, op, reason);
  };
  const target = (id: number): SceneObject =>
    findObject(scene, id) ?? fail(`refers to object id ${id}, which the scene does not hold (ids: ${scene.objects.map((o) => o.id).join(', ') || 'none'})`);
  switch (op.op) {
    case 'add': {
      if (findObject(scene, op.object.id)) fail(`adds id ${op.object.id}, which the scene already holds`);
      scene.objects.push(canonicalObject(structuredClone(op.object)));
      return;
    }
    case 'remove': {
      target(op.id);
      scene.objects = scene.objects.filter((o) => o.id !== op.id);
      return;
    }
    case 'replace': {
      const o = target(op.id);
      switch (op.attribute) {
        case 'shape':
          if (o.shape !== op.from) fail(`expected object ${op.id} to be a ${op.from}, got a ${o.shape}`);
          if (op.to === 'glyph') {
            if (op.text === undefined) fail('turns an object into a glyph without giving its text');
            if (o.texture !== 'solid') fail(`turns a ${o.texture} object into a glyph; glyphs are solid`);
            if (o.size === 'small') fail('turns a small object into a glyph; glyphs are medium or large');
            o.text = op.text;
          } else {
            delete o.text;
          }
          o.shape = op.to;
          return;
        case 'text':
          if (o.shape !== 'glyph') fail(`changes the text of object ${op.id}, a ${o.shape}, not a glyph`);
          if (o.text !== op.from) fail(`expected object ${op.id} to read ${JSON.stringify(op.from)}, got ${JSON.stringify(o.text)}`);
          o.text = op.to;
          return;
        case 'color':
          if (o.color !== op.from) fail(`expected object ${op.id} to be ${op.from}, got ${o.color}`);
          o.color = op.to;
          return;
        case 'texture':
          if (o.texture !== op.from) fail(`expected object ${op.id} to be ${op.from}, got ${o.texture}`);
          if (o.shape === 'glyph' && op.to !== 'solid') fail('gives a glyph a texture; glyphs are solid');
          o.texture = op.to;
          return;
        case 'size': {
          if (o.size !== op.from) fail(`expected object ${op.id} to be ${op.from}, got ${o.size}`);
          if (o.shape === 'glyph' && op.to === 'small') fail('makes a glyph small; glyphs are medium or large');
          const at = resizedCorner(o, op.to);
          o.x = at.x;
          o.y = at.y;
          o.size = op.to;
          return;
        }
      }
      return;
    }
    case 'replace_global': {
      const current = scene[op.attribute];
      if (!same(current, op.from)) fail(`expected ${op.attribute} ${JSON.stringify(op.from)}, got ${JSON.stringify(current)}`);
      if (op.attribute === 'background') scene.background = { ...op.to };
      else if (op.attribute === 'style') scene.style = op.to;
      else scene.tone = op.to;
      return;
    }
    case 'move': {
      const o = target(op.id);
      if (o.x !== op.from.x || o.y !== op.from.y) {
        fail(`expected object ${op.id} at (${op.from.x}, ${op.from.y}), got (${o.x}, ${o.y})`);
      }
      o.x = op.to.x;
      o.y = op.to.y;
      return;
    }
    case 'camera': {
      if (!same(scene.camera, op.from)) fail(`expected camera ${JSON.stringify(op.from)}, got ${JSON.stringify(scene.camera)}`);
      scene.camera = { ...op.to };
      return;
    }
  }
}

/** Applies the ops in order to a copy of the scene; throws OpError naming the first op that does not fit. */
export function applyOps(scene: Scene, ops: readonly EditOp[]): Scene {
  const out = cloneScene(scene);
  ops.forEach((op, i) => applyOne(out, op, i));
  return out;
}

/**
 * Applies what fits and skips what does not (a model's CoT may name objects that are not there).
 * The skipped list says which ops were dropped and why.
 */
export function applyOpsLenient(scene: Scene, ops: readonly EditOp[]): { scene: Scene; skipped: { index: number; reason: string }[] } {
  const out = cloneScene(scene);
  const skipped: { index: number; reason: string }[] = [];
  ops.forEach((op, i) => {
    const before = cloneScene(out);
    try {
      applyOne(out, op, i);
    } catch (err) {
      if (!(err instanceof OpError)) throw err;
      Object.assign(out, before);
      skipped.push({ index: i, reason: err.message });
    }
  });
  return { scene: out, skipped };
}

/**
 * The canonical ops turning scene a into scene b: one op per changed (object, attribute) or global
 * property, camera and globals first, then per source object (remove, or replace shape / text /
 * colour / texture, move, replace size), then adds.
 * applyOps(a, diffScenes(a, b)) equals b whenever b came from a by ops. The ops are independent of
 * one another, which is what lets the scorer leave one out to find the pixels it is responsible for.
 */
export function diffScenes(a: Scene, b: Scene): EditOp[] {
  const ops: EditOp[] = [];
  if (!same(a.camera, b.camera)) ops.push({ op: 'camera', from: { ...a.camera }, to: { ...b.camera } });
  if (!same(a.background, b.background)) {
    ops.push({ op: 'replace_global', attribute: 'background', from: { ...a.background }, to: { ...b.background } });
  }
  if (a.style !== b.style) ops.push({ op: 'replace_global', attribute: 'style', from: a.style, to: b.style });
  if (a.tone !== b.tone) ops.push({ op: 'replace_global', attribute: 'tone', from: a.tone, to: b.tone });
  for (const o of a.objects) {
    const q = findObject(b, o.id);
    if (!q) {
      ops.push({ op: 'remove', id: o.id });
      continue;
    }
    if (o.shape !== q.shape) {
      const op: ReplaceOp = { op: 'replace', id: o.id, attribute: 'shape', from: o.shape, to: q.shape };
      if (q.shape === 'glyph') op.text = q.text;
      ops.push(op);
    } else if (o.shape === 'glyph' && o.text !== q.text) {
      ops.push({ op: 'replace', id: o.id, attribute: 'text', from: o.text ?? '', to: q.text ?? '' });
    }
    if (o.color !== q.color) ops.push({ op: 'replace', id: o.id, attribute: 'color', from: o.color, to: q.color });
    if (o.texture !== q.texture) ops.push({ op: 'replace', id: o.id, attribute: 'texture', from: o.texture, to: q.texture });
    // Move before resize, to the corner that the resize (about the centre) then takes to q's: the
    // two ops stay independent, so either one applies without the other.
    const shift = o.size !== q.size ? resizedCorner({ x: 0, y: 0, size: o.size }, q.size) : { x: 0, y: 0 };
    const pre = { x: q.x - shift.x, y: q.y - shift.y };
    if (pre.x !== o.x || pre.y !== o.y) ops.push({ op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: pre });
    if (o.size !== q.size) ops.push({ op: 'replace', id: o.id, attribute: 'size', from: o.size, to: q.size });
  }
  for (const q of b.objects) {
    if (!findObject(a, q.id)) ops.push({ op: 'add', object: canonicalObject(structuredClone(q)) });
  }
  return ops;
}

/** One line per op, for people (the show page, error messages). */
export function opSummary(op: EditOp): string {
  switch (op.op) {
    case 'add': {
      const o = op.object;
      return `add #${o.id} ${o.size} ${o.texture} ${o.color} ${o.shape === 'glyph' ? `glyph ${o.text}` : o.shape} @ (${o.x}, ${o.y})`;
    }
    case 'remove':
      return `remove #${op.id}`;
    case 'replace':
      return `replace #${op.id} ${op.attribute}: ${op.from} -> ${op.to}${op.attribute === 'shape' && op.text ? ` "${op.text}"` : ''}`;
    case 'replace_global':
      return `replace ${op.attribute}: ${fmt(op.from)} -> ${fmt(op.to)}`;
    case 'move':
      return `move #${op.id}: (${op.from.x}, ${op.from.y}) -> (${op.to.x}, ${op.to.y})`;
    case 'camera':
      return `camera: ${fmt(op.from)} -> ${fmt(op.to)}`;
  }
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'pattern' in v) {
    const b = v as Background;
    return b.pattern === 'plain' ? `plain ${b.color}` : `${b.pattern} ${b.color}/${b.color2}`;
  }
  if (v && typeof v === 'object' && 'width' in v) {
    const c = v as Camera;
    return `[${c.x}, ${c.y}, ${c.width}x${c.height}]`;
  }
  return JSON.stringify(v);
}
