// Edit -> CoT of each variant. The traversal is read off the edit's ops (so applying the parsed
// traversal to the source gives exactly the target); the task thinking renders the edit's
// understanding facts (computed by the world from the scene) as statements with object references,
// and adds what the builder computes itself (objects in view, text of the glyphs touched).

import type { Edit, ThinkingFact } from '../world/edit.js';
import { applyOps, type EditOp, opObjectIds } from '../world/ops.js';
import { type Camera, cameraBox, boxesTouch, findObject, objectBox, type SceneObject } from '../world/scene.js';
import type {
  CameraAction, Cot, ObjectAction, ObjectEntry, ObjectRef, ResultEntry, ThinkStatement, TraversalEntry, ValueAction,
} from './ast.js';
import { type CotVariant, freeWords, isCotVariant, SYM, THINK_BRIDGE, THINK_LEAD, type ThinkKey, THINKING_STOPS } from './grammar.js';
import { printCot } from './print.js';
import { objectOf, objectsInWindow, refOf, regionWords, shownObjects, viewPoint } from './understand.js';
import { backgroundWords, cameraAction, nounWords } from './values.js';

export class CotBuildError extends Error {
  constructor(message: string) {
    super(`buildCot: ${message}`);
    this.name = 'CotBuildError';
  }
}

/** Free text from the world as thinking words; it must not hold a word that ends a statement. */
function words(text: string, what: string): string[] {
  const out = freeWords(text);
  const bad = out.find((w) => THINKING_STOPS.has(w));
  if (bad !== undefined) throw new CotBuildError(`${what} ${JSON.stringify(text)} holds the grammar word ${JSON.stringify(bad)}`);
  if (out.length === 0) throw new CotBuildError(`${what} is empty`);
  return out;
}

// --- traversal ---

interface Plan {
  objects: Map<number, ObjectAction[]>;
  adds: { o: SceneObject; actions: ObjectAction[] }[];
  background: ValueAction;
  style: ValueAction;
  tone: ValueAction;
  camera: CameraAction;
}

function plan(edit: Edit): Plan {
  const source = edit.source;
  const cam = source.camera;
  const shown = new Set(shownObjects(source).map((o) => o.id));
  const p: Plan = { objects: new Map(), adds: [], background: { kind: 'keep' }, style: { kind: 'keep' }, tone: { kind: 'keep' }, camera: { kind: 'keep' } };
  let work = source;
  const actionsOf = (op: EditOp, id: number): ObjectAction[] => {
    const added = p.adds.find((a) => a.o.id === id);
    if (added) return added.actions;
    if (!shown.has(id)) throw new CotBuildError(`op ${op.op} touches object ${id}, which is not fully in the source view`);
    let list = p.objects.get(id);
    if (!list) p.objects.set(id, (list = []));
    return list;
  };
  edit.ops.forEach((op, i) => {
    switch (op.op) {
      case 'add':
        p.adds.push({ o: op.object, actions: [{ kind: 'add' }] });
        break;
      case 'remove':
        actionsOf(op, op.id).push({ kind: 'remove' });
        break;
      case 'move':
        actionsOf(op, op.id).push({ kind: 'move', ...viewPoint(cam, op.to) });
        break;
      case 'replace': {
        const cur = findObject(work, op.id);
        if (!cur) throw new CotBuildError(`op ${i} changes object ${op.id}, which is gone by then`);
        const from = op.attribute === 'shape' ? nounWords({ shape: cur.shape, text: cur.text }) : [String(op.from)];
        const to = op.attribute === 'shape' ? nounWords({ shape: op.to, text: op.text }) : [String(op.to)];
        actionsOf(op, op.id).push({ kind: 'replace', attribute: op.attribute, from, to });
        break;
      }
      case 'replace_global': {
        if (p[op.attribute].kind !== 'keep') throw new CotBuildError(`the ${op.attribute} changes twice; the traversal names each global target once`);
        const from = op.attribute === 'background' ? backgroundWords(op.from) : [op.from];
        const to = op.attribute === 'background' ? backgroundWords(op.to) : [op.to];
        p[op.attribute] = { kind: 'replace', from, to };
        break;
      }
      case 'camera':
        if (p.camera.kind !== 'keep') throw new CotBuildError('the camera moves twice; the traversal names it once');
        try {
          p.camera = cameraAction(cam, op.to);
        } catch (err) {
          throw new CotBuildError((err as Error).message);
        }
        break;
    }
    work = applyOps(work, [op]);
  });
  return p;
}

function traversal(edit: Edit): TraversalEntry[] {
  const p = plan(edit);
  const entries: TraversalEntry[] = [];
  for (const o of shownObjects(edit.source)) {
    entries.push({ kind: 'object', ref: refOf(edit.source, o), actions: p.objects.get(o.id) ?? [{ kind: 'keep' }] } satisfies ObjectEntry);
  }
  for (const a of p.adds) entries.push({ kind: 'object', ref: refOf(edit.source, a.o), actions: a.actions });
  entries.push({ kind: 'global', target: 'background', action: p.background });
  entries.push({ kind: 'global', target: 'style', action: p.style });
  entries.push({ kind: 'global', target: 'tone', action: p.tone });
  entries.push({ kind: 'camera', action: p.camera });
  return entries;
}

// --- thinking ---

function st(key: ThinkKey, ...items: (string | ObjectRef | (string | ObjectRef)[])[]): ThinkStatement {
  return { key, items: items.flat() };
}

class Thinker {
  readonly out: ThinkStatement[] = [];

  constructor(private readonly edit: Edit) {}

  /** Reference to an object by id: as it is in the source, else as it is added in the target, in source view units. */
  ref(id: number): ObjectRef {
    const hit = objectOf(id, this.edit.source, this.edit.target);
    if (!hit) throw new CotBuildError(`a fact names object ${id}, which neither scene holds`);
    return refOf(hit.scene, hit.o, this.edit.source.camera);
  }

  /** "object 3" in a world string -> "the <look of object 3>". */
  private objectsInText(text: string): string {
    return text.replace(/\bobject (\d+)\b/g, (_, id: string) => `the ${this.ref(Number(id)).words.join(' ')}`);
  }

  fact(f: ThinkingFact): void {
    const e = this.edit;
    switch (f.kind) {
      case 'identify':
        this.out.push(st('identify', words(f.description, 'identify description'), SYM.eq, this.ref(f.id)));
        return;
      case 'locate': {
        const hit = objectOf(f.id, e.source, e.target)!;
        this.out.push(st('locate', this.ref(f.id), SYM.eq, regionWords({ ...hit.scene, camera: e.source.camera }, hit.o)));
        return;
      }
      case 'count':
        this.out.push(st('count', words(f.what, 'count'), SYM.eq, String(f.value)));
        return;
      case 'target_count':
        this.out.push(st('want', words(f.what, 'target count'), SYM.eq, String(f.value)));
        return;
      case 'read':
        this.out.push(st('read', this.ref(f.id), SYM.eq, f.text));
        return;
      case 'relation':
        this.out.push(st('relation', this.ref(f.a), f.relation.split(' '), this.ref(f.b)));
        return;
      case 'physics': {
        const m = /^object (\d+)$/.exec(f.stop);
        const stop = m ? [this.ref(Number(m[1]))] : words(f.stop, 'physics stop');
        this.out.push(st('physics', this.ref(f.id), f.motion.split(' '), String(f.distance), 'stop', stop));
        return;
      }
      case 'temporal':
        this.out.push(st('temporal', words(f.rule, 'temporal rule'), SYM.eq, String(f.steps), 'steps'));
        return;
      case 'cause':
        this.out.push(st('cause', words(f.cause, 'cause'), SYM.arrow, words(f.effect, 'effect')));
        return;
      case 'rule': {
        const refs = f.matches.map((id) => this.ref(id));
        const list = refs.length === 0 ? ['none'] : refs.flatMap((r, i) => (i === 0 ? [r] : [SYM.comma, r]));
        this.out.push(st('rule', words(f.rule, 'rule'), SYM.eq, list));
        return;
      }
      case 'camera': {
        this.out.push(st('camera', words(this.objectsInText(f.motion), 'camera motion')));
        const leaving = f.leaving.map((id) => this.ref(id));
        this.out.push(st('leave', leaving.length === 0 ? ['none'] : leaving.flatMap((r, i) => (i === 0 ? [r] : [SYM.comma, r]))));
        this.out.push(st('enter', String(f.entering.length)));
        return;
      }
      case 'global':
        this.out.push(st(f.attribute, words(f.from, `${f.attribute} from`), SYM.arrow, words(f.to, `${f.attribute} to`)));
        return;
    }
  }
}

function thinking(edit: Edit): ThinkStatement[] {
  const t = new Thinker(edit);
  t.out.push(st('see', String(shownObjects(edit.source).length), 'objects'));
  for (const f of edit.facts) t.fact(f);
  // The text of every glyph the edit touches, unless a fact already read it.
  const read = new Set(edit.facts.flatMap((f) => (f.kind === 'read' ? [f.id] : [])));
  const touched = [...new Set(edit.ops.flatMap(opObjectIds))];
  for (const id of touched) {
    const o = findObject(edit.source, id);
    if (o && o.shape === 'glyph' && !read.has(id)) t.out.push(st('read', t.ref(id), SYM.eq, o.text ?? ''));
  }
  return t.out;
}

// --- think: generic reasoning and a description of the result ---

function inWindow(o: SceneObject, camera: Camera): boolean {
  const b = objectBox(o);
  const v = cameraBox(camera);
  return b.x0 >= v.x0 && b.y0 >= v.y0 && b.x1 <= v.x1 && b.y1 <= v.y1;
}

function result(edit: Edit): ResultEntry[] {
  const { source, target } = edit;
  const out: ResultEntry[] = [];
  for (const o of objectsInWindow(target, source.camera)) out.push({ kind: 'object', ref: refOf(target, o, source.camera) });
  // An object the edit pushes partly out of the source view cannot be described in it.
  for (const o of target.objects) {
    if (!inWindow(o, source.camera) && boxesTouch(objectBox(o), cameraBox(source.camera)) && findObject(source, o.id) && inWindow(findObject(source, o.id)!, source.camera)) {
      throw new CotBuildError(`object ${o.id} ends up cut by the source view; the think result cannot describe it`);
    }
  }
  out.push({ kind: 'global', target: 'background', value: backgroundWords(target.background) });
  out.push({ kind: 'global', target: 'style', value: [target.style] });
  out.push({ kind: 'global', target: 'tone', value: [target.tone] });
  out.push({ kind: 'camera', action: cameraAction(source.camera, target.camera) });
  return out;
}

/** The CoT of one variant for a world edit. */
export function buildCot(edit: Edit, variant: CotVariant): Cot {
  if (!isCotVariant(variant)) throw new CotBuildError(`unknown variant ${JSON.stringify(variant)}; expected none, think, triplet or meta`);
  switch (variant) {
    case 'none':
      return { variant: 'none' };
    case 'think':
      return { variant: 'think', reasoning: [...THINK_LEAD, ...freeWords(edit.instruction), ...THINK_BRIDGE], result: result(edit) };
    case 'triplet':
      return { variant: 'triplet', task: edit.category, thinking: thinking(edit), traversal: traversal(edit) };
    case 'meta':
      return { variant: 'meta', metaTasks: [...edit.metaTasks], thinking: thinking(edit), traversal: traversal(edit) };
  }
}

/** The CoT text of one variant for a world edit (what `world generate --cot VARIANT` writes into the manifest). */
export function cotForEdit(edit: Edit, variant: CotVariant): string {
  return printCot(buildCot(edit, variant));
}


