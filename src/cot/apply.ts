// Binding a CoT to a scene: object references (look + position in view units) become the scene's
// object ids, typed CoT ops become the world's EditOps, and applying them gives the CoT-implied
// scene (the CEC judge's target). Strict mode (the default) throws a CotApplyError naming the
// traversal entry at the first thing that does not fit the scene; lenient mode (for a model's CoT)
// skips what does not fit and reports it.

import { applyOps, diffScenes, type EditOp, OpError } from '../world/ops.js';
import {
  boxCenter, canonicalObject, cloneScene, findObject, nextObjectId, objectBox, type Point, type Scene, type SceneObject, viewObjects,
} from '../world/scene.js';
import type { Cot } from './ast.js';
import { type CotOp, cotOps, type LookAt, resultOf } from './ops.js';
import { printRef } from './print.js';
import { cameraTarget, lookOf, lookWords, type ObjectLook, sameLook } from './values.js';

export interface ApplyOptions {
  /** Skip ops that do not fit the scene instead of throwing (default false). */
  lenient?: boolean;
  /** Lenient mode: how far (world units) a reference may be from the object it binds to (default 3). */
  tolerance?: number;
}

/** Something in the CoT that does not fit the scene, with the traversal entry it is in. */
export interface ApplyProblem {
  entry: number;
  message: string;
}

export class CotApplyError extends Error {
  constructor(
    readonly entry: number,
    readonly reason: string,
  ) {
    super(`cot: traversal entry ${entry + 1}: ${reason}`);
    this.name = 'CotApplyError';
  }
}

export interface Binding {
  /** The world ops, in the order they apply. */
  ops: EditOp[];
  /** The scene with them applied. */
  scene: Scene;
  /** Object id each object entry bound to (entries that failed to bind are absent). */
  ids: Map<number, number>;
  /** Lenient mode: what was skipped and why (strict mode throws instead). */
  problems: ApplyProblem[];
}

function describe(l: LookAt): string {
  return printRef({ words: lookWords(l.look), x: l.at.x, y: l.at.y });
}

function lookText(look: ObjectLook): string {
  return lookWords(look).join(' ');
}

function toWorld(scene: Scene, p: Point): Point {
  return { x: scene.camera.x + p.x, y: scene.camera.y + p.y };
}

/**
 * Binds CoT ops to a scene and applies them. References are read in the source scene's view (the
 * positions the CoT names are where the objects are before the edit); an entry's later actions act
 * on the object as its earlier actions left it.
 */
export function bindOps(scene: Scene, ops: readonly CotOp[], opts: ApplyOptions = {}): Binding {
  const lenient = opts.lenient ?? false;
  const tolerance = opts.tolerance ?? 3;
  const shown = viewObjects(scene);
  const ids = new Map<number, number>();
  const problems: ApplyProblem[] = [];
  const edits: EditOp[] = [];
  let work = cloneScene(scene);
  let nextId = nextObjectId(scene);
  const skipped = new Set<number>();

  const problem = (entry: number, message: string): void => {
    if (!lenient) throw new CotApplyError(entry, message);
    problems.push({ entry, message });
    skipped.add(entry);
  };

  const bind = (op: CotOp & { ref: LookAt }): number | null => {
    const known = ids.get(op.entry);
    if (known !== undefined) return known;
    if (skipped.has(op.entry)) return null;
    const at = toWorld(scene, op.ref.at);
    const here = shown.find((o) => o.x === at.x && o.y === at.y);
    if (here && sameLook(lookOf(here), op.ref.look)) {
      ids.set(op.entry, here.id);
      return here.id;
    }
    if (!lenient) {
      problem(
        op.entry,
        here
          ? `${describe(op.ref)}: the object there is a ${lookText(lookOf(here))}`
          : `${describe(op.ref)}: no object of the source view has its corner there (objects: ${shown.map((o) => `${lookText(lookOf(o))} @ ${o.x - scene.camera.x} ${o.y - scene.camera.y}`).join('; ') || 'none'})`,
      );
      return null;
    }
    // Lenient: the object at that spot whatever it looks like, else the nearest one that looks so.
    if (here) {
      problems.push({ entry: op.entry, message: `${describe(op.ref)}: bound to the ${lookText(lookOf(here))} there` });
      ids.set(op.entry, here.id);
      return here.id;
    }
    const near = shown
      .filter((o) => sameLook(lookOf(o), op.ref.look))
      .map((o) => ({ o, d: Math.max(Math.abs(o.x - at.x), Math.abs(o.y - at.y)) }))
      .filter(({ d }) => d <= tolerance)
      .sort((a, b) => a.d - b.d || a.o.id - b.o.id)[0];
    if (near) {
      problems.push({ entry: op.entry, message: `${describe(op.ref)}: bound to the same-looking object ${near.d} unit(s) away` });
      ids.set(op.entry, near.o.id);
      return near.o.id;
    }
    problem(op.entry, `${describe(op.ref)}: no object there or nearby; its actions are skipped`);
    return null;
  };

  const push = (entry: number, op: EditOp): void => {
    try {
      work = applyOps(work, [op]);
      edits.push(op);
    } catch (err) {
      if (!(err instanceof OpError)) throw err;
      problem(entry, err.message.replace(/^applyOps: op \d+ /, ''));
    }
  };

  for (const op of ops) {
    switch (op.op) {
      case 'add': {
        if (ids.has(op.entry) || skipped.has(op.entry)) {
          problem(op.entry, 'adds the same object twice');
          break;
        }
        const at = toWorld(scene, op.ref.at);
        const o = canonicalObject({ id: nextId++, ...op.ref.look, x: at.x, y: at.y } as SceneObject);
        ids.set(op.entry, o.id);
        push(op.entry, { op: 'add', object: o });
        break;
      }
      case 'keep':
        bind(op);
        break;
      case 'remove': {
        const id = bind(op);
        if (id !== null) push(op.entry, { op: 'remove', id });
        break;
      }
      case 'move': {
        const id = bind(op);
        const o = id === null ? undefined : findObject(work, id);
        if (id !== null && !o) problem(op.entry, `moves object ${describe(op.ref)} after it was removed`);
        if (o) push(op.entry, { op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: toWorld(scene, op.to) });
        break;
      }
      case 'replace': {
        const id = bind(op);
        const o = id === null ? undefined : findObject(work, id);
        if (id !== null && !o) problem(op.entry, `changes object ${describe(op.ref)} after it was removed`);
        if (!o) break;
        if (op.attribute === 'shape') {
          const cur = o.shape === 'glyph' ? `${o.shape} ${o.text}` : o.shape;
          const said = op.from.shape === 'glyph' ? `${op.from.shape} ${op.from.text}` : op.from.shape;
          if (cur !== said) {
            problem(op.entry, `replace shape ${said} -> ...: the object is a ${cur}`);
            break;
          }
          const e: EditOp = { op: 'replace', id: o.id, attribute: 'shape', from: o.shape, to: op.to.shape };
          if (op.to.shape === 'glyph') e.text = op.to.text;
          push(op.entry, e);
        } else {
          const cur = op.attribute === 'text' ? (o.text ?? '(no text)') : o[op.attribute];
          if (cur !== op.from) {
            problem(op.entry, `replace ${op.attribute} ${op.from} -> ${op.to}: the object's ${op.attribute} is ${cur}`);
            break;
          }
          push(op.entry, { op: 'replace', id: o.id, attribute: op.attribute, from: op.from, to: op.to } as EditOp);
        }
        break;
      }
      case 'replace_global': {
        const cur = work[op.attribute];
        if (JSON.stringify(cur) !== JSON.stringify(op.from)) {
          problem(op.entry, `${op.attribute} replace: the ${op.attribute} is ${JSON.stringify(cur)}, the CoT says ${JSON.stringify(op.from)}`);
          break;
        }
        push(op.entry, { op: 'replace_global', attribute: op.attribute, from: cur, to: op.to } as EditOp);
        break;
      }
      case 'camera':
        push(op.entry, { op: 'camera', from: { ...work.camera }, to: cameraTarget(scene.camera, op.action) });
        break;
    }
  }
  return { ops: edits, scene: work, ids, problems };
}

/** The CoT-implied scene of a traversal's ops. Strict unless opts.lenient. */
export function apply(scene: Scene, ops: readonly CotOp[], opts: ApplyOptions = {}): Scene {
  return bindOps(scene, ops, opts).scene;
}

// --- the think variant: a description of the result, matched to the source ---

interface Pair {
  s: number;
  d: number;
  dist: number;
}

function centre(look: ObjectLook, at: Point): Point {
  return boxCenter(objectBox({ size: look.size, x: at.x, y: at.y }));
}

/**
 * The scene a `think` CoT describes: globals and camera as said, the source view's objects matched
 * to the described ones (same look and place, else same centre: changed in place, else same look:
 * moved), unmatched source objects removed, unmatched described ones added. Objects outside the
 * source view are left alone.
 */
export function describedScene(source: Scene, cot: Extract<Cot, { variant: 'think' }>): Scene {
  const r = resultOf(cot.result);
  const out = cloneScene(source);
  out.background = { ...r.background };
  out.style = r.style;
  out.tone = r.tone;
  out.camera = cameraTarget(source.camera, r.camera);
  const shown = viewObjects(source);
  const described = r.objects.map((l) => ({ look: l.look, at: toWorld(source, l.at) }));
  const match = new Map<number, number>(); // described index -> source index
  const used = new Set<number>();
  const rounds: ((s: SceneObject, d: { look: ObjectLook; at: Point }) => number | null)[] = [
    (s, d) => (sameLook(lookOf(s), d.look) && s.x === d.at.x && s.y === d.at.y ? 0 : null),
    (s, d) => {
      const a = centre(lookOf(s), s);
      const b = centre(d.look, d.at);
      const dist = Math.max(Math.abs(a.x - b.x), Math.abs(a.y - b.y));
      return dist <= 1 ? dist : null;
    },
    (s, d) => (sameLook(lookOf(s), d.look) ? Math.abs(s.x - d.at.x) + Math.abs(s.y - d.at.y) : null),
  ];
  for (const round of rounds) {
    const pairs: Pair[] = [];
    shown.forEach((s, si) => {
      if (used.has(si)) return;
      described.forEach((d, di) => {
        if (match.has(di)) return;
        const dist = round(s, d);
        if (dist !== null) pairs.push({ s: si, d: di, dist });
      });
    });
    pairs.sort((a, b) => a.dist - b.dist || a.s - b.s || a.d - b.d);
    for (const p of pairs) {
      if (used.has(p.s) || match.has(p.d)) continue;
      used.add(p.s);
      match.set(p.d, p.s);
    }
  }
  const bySource = new Map<number, number>();
  for (const [d, s] of match) bySource.set(shown[s].id, d);
  let nextId = nextObjectId(source);
  const objects: SceneObject[] = [];
  for (const o of out.objects) {
    if (!shown.some((s) => s.id === o.id)) {
      objects.push(o);
      continue;
    }
    const d = bySource.get(o.id);
    if (d === undefined) continue; // not described: gone
    objects.push(canonicalObject({ id: o.id, ...described[d].look, ...described[d].at } as SceneObject));
  }
  described.forEach((d, di) => {
    if (!match.has(di)) objects.push(canonicalObject({ id: nextId++, ...d.look, ...d.at } as SceneObject));
  });
  out.objects = objects;
  return out;
}

/**
 * The world ops a CoT of any variant implies for a scene: a traversal's ops bound to it, a think
 * CoT's described result diffed against it, nothing for `none`.
 */
export function sceneOps(source: Scene, cot: Cot, opts: ApplyOptions = {}): Binding {
  switch (cot.variant) {
    case 'none':
      return { ops: [], scene: cloneScene(source), ids: new Map(), problems: [] };
    case 'think': {
      const scene = describedScene(source, cot);
      return { ops: diffScenes(source, scene), scene, ids: new Map(), problems: [] };
    }
    default:
      return bindOps(source, cotOps(cot), opts);
  }
}

/** The CoT-implied scene of any variant. */
export function impliedScene(source: Scene, cot: Cot, opts: ApplyOptions = {}): Scene {
  return sceneOps(source, cot, opts).scene;
}
