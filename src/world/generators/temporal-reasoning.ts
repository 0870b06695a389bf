// 12. temporal_reasoning: follow a process over k steps of time. Three processes: steady motion
// (position change), shrinking until gone (replace size, or remove at the end), a counter glyph
// (replace text). Understanding: temporal.

import { isDigit, numberWord, SIZE_WORD } from '../describe.js';
import type { EditDraft } from '../edit.js';
import { type Direction, moved, travel } from '../layout.js';
import type { Rng } from '../rng.js';
import { type Scene, SIZES, SIZE_UNITS } from '../scene.js';
import { type CategoryGenerator, firstOf, ground, phrase, type Referable, referables } from './kit.js';

const DIR_PHRASE: Readonly<Record<Direction, string>> = { up: 'upward', down: 'downward', left: 'to the left', right: 'to the right' };

function plural(n: number, unit: string): string {
  return `${numberWord(n)} ${unit}${n === 1 ? '' : 's'}`;
}

function steadyMotion(scene: Scene, rng: Rng, { o, ref }: Referable): EditDraft | null {
  const s = SIZE_UNITS[o.size];
  return firstOf(rng, ['up', 'down', 'left', 'right'] as const, (dir) => {
    const fits = [3, 2].filter((k) => travel(scene, o, dir).distance >= k * s);
    if (fits.length === 0) return null;
    const k = fits[0];
    const unit = rng.pick(['second', 'minute']);
    const instruction = phrase(rng, [
      () => `the ${ref} moves ${DIR_PHRASE[dir]} by its own width every ${unit}; show the scene ${plural(k, unit)} later`,
      () => `every ${unit} the ${ref} travels one body length ${DIR_PHRASE[dir]}. What does the picture look like after ${plural(k, unit)}?`,
      () => `the ${ref} keeps sliding ${DIR_PHRASE[dir]}, one body length per ${unit}; draw it as it will be in ${plural(k, unit)}`,
    ]);
    return {
      instruction,
      ops: [{ op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: moved(o, dir, k * s) }],
      facts: [...ground(scene, o), { kind: 'temporal', rule: `moves ${s} units ${dir} per ${unit}`, steps: k }],
    };
  });
}

function shrinking(scene: Scene, rng: Rng, { o, ref }: Referable): EditDraft | null {
  if (o.shape === 'glyph') return null;
  const idx = SIZES.indexOf(o.size);
  const vanish = idx + 1;
  const k = rng.int(Math.min(2, vanish), vanish);
  const unit = rng.pick(['hour', 'minute']);
  const instruction = phrase(rng, [
    () => `the ${ref} is melting: every ${unit} it shrinks by one size (large, medium, small) and after being small it is gone. Show it ${plural(k, unit)} from now`,
    () => `each ${unit} the ${ref} gets one size smaller, and a small one disappears at the next step. What is left after ${plural(k, unit)}?`,
  ]);
  const facts = [...ground(scene, o), { kind: 'temporal' as const, rule: 'shrinks one size per step, gone after small', steps: k }];
  if (k === vanish) return { instruction, ops: [{ op: 'remove', id: o.id }], facts };
  const to = SIZES[idx - k];
  return {
    instruction,
    ops: [{ op: 'replace', id: o.id, attribute: 'size', from: o.size, to }],
    facts: [...facts, { kind: 'identify', id: o.id, description: `${SIZE_WORD[to]} after ${k} steps` }],
  };
}

function counter(scene: Scene, rng: Rng, { o, ref }: Referable): EditDraft | null {
  if (o.shape !== 'glyph' || !isDigit(o.text)) return null;
  const d = Number(o.text);
  const k = rng.int(1, 3);
  const down = d - k >= 0 && (d + k > 9 || rng.chance(0.5));
  if (!down && d + k > 9) return null;
  const to = String(down ? d - k : d + k);
  const unit = 'second';
  const instruction = phrase(rng, [
    () => `the ${ref} is a counter that goes ${down ? 'down' : 'up'} by one every ${unit}; show it ${plural(k, unit)} later`,
    () => `the ${ref} ${down ? 'counts down' : 'counts up'} once per ${unit}. What does it show after ${plural(k, unit)}?`,
  ]);
  return {
    instruction,
    ops: [{ op: 'replace', id: o.id, attribute: 'text', from: o.text ?? '', to }],
    facts: [...ground(scene, o), { kind: 'read', id: o.id, text: o.text ?? '' }, { kind: 'temporal', rule: `counts ${down ? 'down' : 'up'} by one per ${unit}`, steps: k }],
  };
}

export const temporalReasoning: CategoryGenerator = {
  category: 'temporal_reasoning',
  hints: { maxObjects: 4 },
  generate(scene, rng) {
    const options = referables(scene).flatMap((r) => [
      () => steadyMotion(scene, rng, r),
      () => shrinking(scene, rng, r),
      () => counter(scene, rng, r),
    ]);
    return firstOf(rng, options, (f) => f());
  },
};
