// CoT text -> CoT structure, by recursive descent over whitespace-separated words. A text that does
// not follow the grammar throws a CotSyntaxError naming the character offset and word number where
// it went wrong, what was expected there and what came.
//
// Two modes: 'world' (default) also checks every description and value against the synthetic
// world's closed sets (colours, shapes, sizes, ...), so a parsed world CoT can always be turned into
// scene operations; 'open' accepts any words there (annotations of real photographs).

import { META_TASKS, type MetaTask } from '../world/ops.js';
import type {
  CameraAction, Cot, CotSpans, GlobalEntry, ObjectAction, ObjectEntry, ObjectRef, ResultEntry, ThinkStatement, TraversalEntry,
} from './ast.js';
import { WORLD_CATEGORY_NAMES } from './composition.js';
import {
  ATTRIBUTES, DESCRIPTION_STOPS, GLOBAL_TARGETS, type GlobalTarget, isFactorWord, isIntegerWord, isMetaTask, PAN_DIRECTIONS,
  type PanDirection, SUMMARY_META, SUMMARY_TASK, SYM, TAG, TAGS, THINK_KEYS, type ThinkKey, THINKING_STOPS, VALUE_STOPS,
  WORLD_ATTRIBUTES, type WorldAttribute,
} from './grammar.js';
import { globalValueReader, type Read, readAttributeValue, readLook } from './values.js';

export type ParseMode = 'world' | 'open';

export interface ParseOptions {
  mode?: ParseMode;
}

export interface ParsedCot {
  cot: Cot;
  spans: CotSpans;
}

interface Word {
  text: string;
  offset: number;
}

/** A CoT that does not follow the grammar: where, what was expected, what came. */
export class CotSyntaxError extends Error {
  constructor(
    /** Character offset of the offending word (the text's length at its end). */
    readonly offset: number,
    /** 0-based index of the offending word (the word count at the end). */
    readonly word: number,
    readonly expected: string,
    /** The offending word, or null at the end of the text. */
    readonly got: string | null,
  ) {
    super(`cot: at char ${offset} (word ${word + 1}): expected ${expected}, got ${got === null ? 'the end of the text' : JSON.stringify(got)}`);
    this.name = 'CotSyntaxError';
  }
}

/** Splits on whitespace, keeping each word's character offset. */
export function cotWords(text: string): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ text: m[0], offset: m.index });
  return out;
}

const quote = (w: string) => `"${w}"`;

class Parser {
  private i = 0;
  readonly spans: CotSpans;

  constructor(
    private readonly words: Word[],
    private readonly textLength: number,
    private readonly mode: ParseMode,
  ) {
    this.spans = { summary: 0, thinking: [], traversal: [], result: [], end: textLength };
  }

  private peek(k = 0): string | null {
    return this.words[this.i + k]?.text ?? null;
  }

  private offsetAt(i: number): number {
    return this.words[i]?.offset ?? this.textLength;
  }

  offset(): number {
    return this.offsetAt(this.i);
  }

  fail(expected: string, at = this.i): never {
    throw new CotSyntaxError(this.offsetAt(at), at, expected, this.words[at]?.text ?? null);
  }

  private next(): string {
    const w = this.peek();
    if (w === null) this.fail('more words');
    this.i++;
    return w;
  }

  private expect(word: string, expected = quote(word)): void {
    if (this.peek() !== word) this.fail(expected);
    this.i++;
  }

  private accept(word: string): boolean {
    if (this.peek() !== word) return false;
    this.i++;
    return true;
  }

  private integer(what: string): number {
    const w = this.peek();
    if (w === null || !isIntegerWord(w)) this.fail(`an integer (${what})`);
    this.i++;
    return Number(w);
  }

  /** A run of at least one word up to (not including) a stop word. */
  private run(stops: ReadonlySet<string>, what: string): { words: string[]; start: number } {
    const start = this.i;
    while (this.peek() !== null && !stops.has(this.peek()!)) this.i++;
    if (this.i === start) this.fail(what);
    return { words: this.words.slice(start, this.i).map((w) => w.text), start };
  }

  /** In world mode, a run must read as a world value; a misfit points at its first bad word. */
  private check<T>(r: Read<T>, start: number): void {
    if (this.mode === 'world' && !r.ok) this.fail(r.expected, start + r.index);
  }

  done(): void {
    if (this.peek() !== null) this.fail('the end of the text');
  }

  // --- shared pieces ---

  ref(): ObjectRef {
    this.expect(SYM.open);
    const { words, start } = this.run(DESCRIPTION_STOPS, 'an object description');
    this.check(readLook(words), start);
    this.expect(SYM.at, `${quote(SYM.at)} after the description`);
    const x = this.integer('x, view units');
    const y = this.integer('y, view units');
    this.expect(SYM.close);
    return { words, x, y };
  }

  camera(): CameraAction {
    if (this.accept('keep')) return { kind: 'keep' };
    if (this.accept('pan')) {
      const moves: { dir: PanDirection; n: number }[] = [];
      do {
        const dir = this.next();
        if (!(PAN_DIRECTIONS as readonly string[]).includes(dir)) this.fail(`a pan direction (${PAN_DIRECTIONS.join(', ')})`, this.i - 1);
        const axis = dir === 'left' || dir === 'right' ? 'x' : 'y';
        if (moves.some((m) => (m.dir === 'left' || m.dir === 'right' ? 'x' : 'y') === axis)) this.fail('a pan along the other axis', this.i - 1);
        const n = this.integer('pan distance');
        if (n <= 0) this.fail('a positive pan distance', this.i - 1);
        moves.push({ dir: dir as PanDirection, n });
      } while (moves.length < 2 && (PAN_DIRECTIONS as readonly string[]).includes(this.peek() ?? ''));
      return { kind: 'pan', moves };
    }
    if (this.accept('zoom')) {
      const dir = this.next();
      if (dir !== 'in' && dir !== 'out') this.fail('"in" or "out"', this.i - 1);
      const f = this.peek();
      if (f === null || !isFactorWord(f) || Number(f) <= 1) this.fail('a zoom factor above 1 (e.g. 2, 1.5)');
      this.i++;
      this.expect(SYM.at, `${quote(SYM.at)} and the new view's corner`);
      const x = this.integer('x of the new view, view units');
      const y = this.integer('y of the new view, view units');
      return { kind: 'zoom', dir, factor: Number(f), x, y };
    }
    return this.fail('a camera action (keep, pan, zoom)');
  }

  // --- triplet / meta ---

  summary(): { kind: 'task'; task: string } | { kind: 'meta'; metaTasks: MetaTask[] } {
    this.spans.summary = this.offset();
    this.expect(TAG.summaryOpen);
    const head = this.peek();
    if (head !== SUMMARY_TASK && head !== SUMMARY_META) this.fail(`${quote(SUMMARY_TASK)} (triplet) or ${quote(SUMMARY_META)} (meta-task summary)`);
    this.i++;
    this.expect(SYM.colon);
    if (head === SUMMARY_TASK) {
      const task = this.peek();
      const known = this.mode === 'world' ? WORLD_CATEGORY_NAMES : null;
      if (task === null || TAGS.includes(task) || (known && !known.includes(task))) {
        this.fail(known ? `a category (${known.join(', ')})` : 'a category name');
      }
      this.i++;
      this.expect(TAG.summaryClose);
      return { kind: 'task', task };
    }
    const metaTasks: MetaTask[] = [];
    do {
      const m = this.peek();
      if (m === null || !isMetaTask(m)) this.fail(`a meta-task (${META_TASKS.join(', ')})`);
      this.i++;
      metaTasks.push(m);
    } while (this.accept(SYM.comma));
    this.expect(TAG.summaryClose, `${quote(SYM.comma)} or ${quote(TAG.summaryClose)}`);
    return { kind: 'meta', metaTasks };
  }

  statement(): ThinkStatement {
    this.spans.thinking.push(this.offset());
    const key = this.peek();
    if (key === null || !(THINK_KEYS as readonly string[]).includes(key)) this.fail(`a thinking statement (${THINK_KEYS.join(', ')})`);
    this.i++;
    const items: (string | ObjectRef)[] = [];
    for (;;) {
      const w = this.peek();
      if (w === null || w === SYM.semi || w === TAG.thinkingClose) break;
      if (w === SYM.open) items.push(this.ref());
      else if (THINKING_STOPS.has(w)) this.fail(`a word, an object reference or ${quote(SYM.semi)}`);
      else {
        items.push(w);
        this.i++;
      }
    }
    if (items.length === 0) this.fail(`the body of the ${quote(key)} statement`);
    return { key: key as ThinkKey, items };
  }

  thinking(): ThinkStatement[] {
    this.expect(TAG.thinkingOpen);
    const out: ThinkStatement[] = [];
    if (this.accept(TAG.thinkingClose)) return out;
    do out.push(this.statement());
    while (this.accept(SYM.semi));
    this.expect(TAG.thinkingClose, `${quote(SYM.semi)} or ${quote(TAG.thinkingClose)}`);
    return out;
  }

  /** `OLD -> NEW`, with where each run starts (for world-mode checks). */
  private values(): { from: string[]; to: string[]; fromStart: number; toStart: number } {
    const from = this.run(VALUE_STOPS, 'the old value');
    this.expect(SYM.arrow, `${quote(SYM.arrow)} between the old and the new value`);
    const to = this.run(VALUE_STOPS, 'the new value');
    return { from: from.words, to: to.words, fromStart: from.start, toStart: to.start };
  }

  action(first: boolean, previous: ObjectAction[]): ObjectAction {
    const at = this.i;
    const w = this.peek();
    const done = previous.find((a) => a.kind === 'keep' || a.kind === 'remove');
    if (done) this.fail(`nothing after "${done.kind}" (it ends the object's actions)`, at);
    switch (w) {
      case 'keep':
      case 'remove':
      case 'add':
        if (w === 'keep' && !first) this.fail('an action that changes the object ("keep" stands alone)', at);
        if (w === 'add' && !first) this.fail('an action after the first ("add" comes first)', at);
        this.i++;
        return { kind: w };
      case 'move': {
        this.i++;
        this.expect(SYM.arrow, `${quote(SYM.arrow)} and the new position`);
        const x = this.integer('x, view units');
        const y = this.integer('y, view units');
        return { kind: 'move', x, y };
      }
      case 'replace': {
        this.i++;
        const attribute = this.peek();
        const allowed = this.mode === 'world' ? WORLD_ATTRIBUTES : ATTRIBUTES;
        if (attribute === null || !allowed.includes(attribute)) this.fail(`an attribute (${allowed.join(', ')})`);
        this.i++;
        const v = this.values();
        if (this.mode === 'world') {
          this.check(readAttributeValue(attribute as WorldAttribute, v.from), v.fromStart);
          this.check(readAttributeValue(attribute as WorldAttribute, v.to), v.toStart);
        }
        return { kind: 'replace', attribute, from: v.from, to: v.to };
      }
      default:
        return this.fail('an action (keep, remove, add, replace, move)');
    }
  }

  private globalTarget(): GlobalTarget | null {
    const w = this.peek();
    return w !== null && (GLOBAL_TARGETS as readonly string[]).includes(w) ? (w as GlobalTarget) : null;
  }

  entry(): TraversalEntry {
    this.spans.traversal.push(this.offset());
    if (this.peek() === SYM.open) {
      const ref = this.ref();
      const actions: ObjectAction[] = [];
      do actions.push(this.action(actions.length === 0, actions));
      while (this.accept(SYM.comma));
      return { kind: 'object', ref, actions } satisfies ObjectEntry;
    }
    const target = this.globalTarget();
    if (target === null) this.fail(`an object ${quote(SYM.open)} or a global target (${GLOBAL_TARGETS.join(', ')})`);
    this.i++;
    if (target === 'camera') return { kind: 'camera', action: this.camera() };
    if (this.accept('keep')) return { kind: 'global', target, action: { kind: 'keep' } } satisfies GlobalEntry;
    this.expect('replace', '"keep" or "replace"');
    const v = this.values();
    const read = globalValueReader(target);
    this.check(read(v.from), v.fromStart);
    this.check(read(v.to), v.toStart);
    return { kind: 'global', target, action: { kind: 'replace', from: v.from, to: v.to } };
  }

  /** Each global target exactly once: a repeat points at itself, a missing one at the closing tag. */
  private globalsOnce(targets: (GlobalTarget | null)[], starts: number[], closeAt: number): void {
    const seen = new Set<GlobalTarget>();
    targets.forEach((t, k) => {
      if (t === null) return;
      if (seen.has(t)) this.fail(`each global target once (${quote(t)} was already named)`, starts[k]);
      seen.add(t);
    });
    for (const t of GLOBAL_TARGETS) if (!seen.has(t)) this.fail(`a ${quote(t)} entry before the closing tag`, closeAt);
  }

  traversal(): TraversalEntry[] {
    this.expect(TAG.traversalOpen);
    const out: TraversalEntry[] = [];
    const starts: number[] = [];
    do {
      starts.push(this.i);
      out.push(this.entry());
    } while (this.accept(SYM.semi));
    const close = this.i;
    this.expect(TAG.traversalClose, `${quote(SYM.semi)}, ${quote(SYM.comma)} or ${quote(TAG.traversalClose)}`);
    this.globalsOnce(out.map((e) => (e.kind === 'object' ? null : e.kind === 'camera' ? 'camera' : e.target)), starts, close);
    return out;
  }

  // --- think ---

  resultEntry(): ResultEntry {
    this.spans.result.push(this.offset());
    if (this.peek() === SYM.open) return { kind: 'object', ref: this.ref() };
    const target = this.globalTarget();
    if (target === null) this.fail(`an object ${quote(SYM.open)} or a global target (${GLOBAL_TARGETS.join(', ')})`);
    this.i++;
    if (target === 'camera') return { kind: 'camera', action: this.camera() };
    const { words, start } = this.run(VALUE_STOPS, `the ${target}`);
    this.check(globalValueReader(target)(words), start);
    return { kind: 'global', target, value: words };
  }

  think(): Cot {
    this.expect(TAG.thinkOpen);
    const start = this.i;
    while (this.peek() !== null && !TAGS.includes(this.peek()!)) this.i++;
    const reasoning = this.words.slice(start, this.i).map((w) => w.text);
    this.expect(TAG.resultOpen);
    const result: ResultEntry[] = [];
    const starts: number[] = [];
    do {
      starts.push(this.i);
      result.push(this.resultEntry());
    } while (this.accept(SYM.semi));
    const close = this.i;
    this.expect(TAG.resultClose, `${quote(SYM.semi)} or ${quote(TAG.resultClose)}`);
    this.globalsOnce(result.map((e) => (e.kind === 'object' ? null : e.kind === 'camera' ? 'camera' : e.target)), starts, close);
    this.expect(TAG.thinkClose);
    return { variant: 'think', reasoning, result };
  }

  cot(): Cot {
    const first = this.peek();
    if (first === null) return { variant: 'none' };
    if (first === TAG.thinkOpen) return this.think();
    if (first !== TAG.summaryOpen) this.fail(`${quote(TAG.summaryOpen)} (triplet, meta), ${quote(TAG.thinkOpen)} (think) or nothing (none)`);
    const s = this.summary();
    const thinking = this.thinking();
    const traversal = this.traversal();
    return s.kind === 'task'
      ? { variant: 'triplet', task: s.task, thinking, traversal }
      : { variant: 'meta', metaTasks: s.metaTasks, thinking, traversal };
  }
}

/** Parses a CoT, keeping where each part starts. Throws CotSyntaxError. */
export function parseCotWithSpans(text: string, opts: ParseOptions = {}): ParsedCot {
  const p = new Parser(cotWords(text), text.length, opts.mode ?? 'world');
  const cot = p.cot();
  p.done();
  return { cot, spans: p.spans };
}

/** Parses a CoT. Throws CotSyntaxError (with offset, word, expected, got) on a malformed text. */
export function parseCot(text: string, opts: ParseOptions = {}): Cot {
  return parseCotWithSpans(text, opts).cot;
}

/** Parses, or returns the error instead of throwing. */
export function tryParseCot(text: string, opts: ParseOptions = {}): { ok: true; parsed: ParsedCot } | { ok: false; error: CotSyntaxError } {
  try {
    return { ok: true, parsed: parseCotWithSpans(text, opts) };
  } catch (err) {
    if (err instanceof CotSyntaxError) return { ok: false, error: err };
    throw err;
  }
}
