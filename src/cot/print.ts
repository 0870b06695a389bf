// CoT structure -> text: words joined by single spaces. parseCot(printCot(c)) deep-equals c, and
// printCot(parseCot(t)) === t for every text printCot can produce.

import type { CameraAction, Cot, ObjectAction, ObjectRef, ResultEntry, ThinkStatement, TraversalEntry } from './ast.js';
import { SUMMARY_META, SUMMARY_TASK, SYM, TAG } from './grammar.js';

export function printRef(ref: ObjectRef): string {
  return [SYM.open, ...ref.words, SYM.at, String(ref.x), String(ref.y), SYM.close].join(' ');
}

export function printCamera(a: CameraAction): string {
  switch (a.kind) {
    case 'keep':
      return 'camera keep';
    case 'pan':
      return ['camera', 'pan', ...a.moves.flatMap((m) => [m.dir, String(m.n)])].join(' ');
    case 'zoom':
      return ['camera', 'zoom', a.dir, String(a.factor), SYM.at, String(a.x), String(a.y)].join(' ');
  }
}

export function printAction(a: ObjectAction): string {
  switch (a.kind) {
    case 'keep':
    case 'remove':
    case 'add':
      return a.kind;
    case 'replace':
      return ['replace', a.attribute, ...a.from, SYM.arrow, ...a.to].join(' ');
    case 'move':
      return ['move', SYM.arrow, String(a.x), String(a.y)].join(' ');
  }
}

export function printEntry(e: TraversalEntry): string {
  switch (e.kind) {
    case 'object':
      return `${printRef(e.ref)} ${e.actions.map(printAction).join(` ${SYM.comma} `)}`;
    case 'global':
      return e.action.kind === 'keep'
        ? `${e.target} keep`
        : [e.target, 'replace', ...e.action.from, SYM.arrow, ...e.action.to].join(' ');
    case 'camera':
      return printCamera(e.action);
  }
}

export function printStatement(s: ThinkStatement): string {
  return [s.key, ...s.items.map((i) => (typeof i === 'string' ? i : printRef(i)))].join(' ');
}

export function printResult(e: ResultEntry): string {
  switch (e.kind) {
    case 'object':
      return printRef(e.ref);
    case 'global':
      return [e.target, ...e.value].join(' ');
    case 'camera':
      return printCamera(e.action);
  }
}

function section(open: string, parts: string[], sep: string, close: string): string {
  return parts.length === 0 ? `${open} ${close}` : `${open} ${parts.join(` ${sep} `)} ${close}`;
}

export function printCot(cot: Cot): string {
  switch (cot.variant) {
    case 'none':
      return '';
    case 'think':
      return [
        TAG.thinkOpen,
        ...cot.reasoning,
        section(TAG.resultOpen, cot.result.map(printResult), SYM.semi, TAG.resultClose),
        TAG.thinkClose,
      ].join(' ');
    case 'triplet':
    case 'meta': {
      const summary =
        cot.variant === 'triplet'
          ? [TAG.summaryOpen, SUMMARY_TASK, SYM.colon, cot.task, TAG.summaryClose].join(' ')
          : [TAG.summaryOpen, SUMMARY_META, SYM.colon, ...cot.metaTasks.flatMap((m, i) => (i === 0 ? [m] : [SYM.comma, m])), TAG.summaryClose].join(' ');
      return [
        summary,
        section(TAG.thinkingOpen, cot.thinking.map(printStatement), SYM.semi, TAG.thinkingClose),
        section(TAG.traversalOpen, cot.traversal.map(printEntry), SYM.semi, TAG.traversalClose),
      ].join(' ');
    }
  }
}
