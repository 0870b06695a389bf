// 13. causal_reasoning: show the effect of a stated cause. A change of light (replace tone), a blow
// that sends one object sliding, gravity or wind moving everything (position changes).
// Understanding: causal, plus physics for the motions.

import type { EditDraft, ThinkingFact } from '../edit.js';
import { type Direction, moved, settleAll, travel } from '../layout.js';
import type { EditOp } from '../ops.js';
import { type Tone, TONE_NAMES } from '../palette.js';
import type { Rng } from '../rng.js';
import { findObject, type Scene } from '../scene.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';

const LIGHT_CAUSES: Readonly<Record<Tone, readonly string[]>> = {
  dark: ['the lights in the room go out', 'a thick cloud covers the sun'],
  bright: ['a powerful floodlight is switched on above the scene', 'the sun comes out at full strength'],
  warm: ['the scene is lit by a golden sunset', 'a fireplace glows beside the scene'],
  cool: ['cold blue moonlight falls on the scene', 'the scene is lit by a blue neon sign'],
  muted: ['the picture is left in strong sunlight for years and fades', 'a thin grey fog drifts over everything'],
  neutral: ['the colored filter over the lamp is taken away', 'plain white daylight replaces the colored lamp'],
};

function light(scene: Scene, rng: Rng): EditDraft {
  const to = rng.pick(TONE_NAMES.filter((t) => t !== scene.tone));
  const cause = rng.pick(LIGHT_CAUSES[to]);
  return {
    instruction: phrase(rng, [() => `${cause}. Show the result`, () => `what does the scene look like when ${cause}?`, () => `suppose ${cause}; edit the picture accordingly`]),
    ops: [{ op: 'replace_global', attribute: 'tone', from: scene.tone, to }],
    facts: [{ kind: 'cause', cause, effect: `the tone becomes ${to}` }],
    understanding: ['causal'],
  };
}

function blow(scene: Scene, rng: Rng): EditDraft | null {
  const options = referables(scene).flatMap((r) => (['left', 'right'] as const).map((from) => ({ ...r, from })));
  return firstOf(rng, options, ({ o, ref, from }) => {
    const dir: Direction = from === 'left' ? 'right' : 'left';
    const t = travel(scene, o, dir);
    if (t.distance < 2) return null;
    const cause = `the ${ref} is struck hard from the ${from}`;
    return {
      instruction: phrase(rng, [
        () => `a heavy ball hits the ${ref} from the ${from}; show where the ${ref} slides to`,
        () => `the ${ref} is kicked hard from the ${from} and slides until something stops it`,
      ]),
      ops: [{ op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: moved(o, dir, t.distance) }],
      facts: [
        ...ground(scene, o),
        { kind: 'cause', cause, effect: `it slides ${dir}` },
        { kind: 'physics', id: o.id, motion: dir === 'left' ? 'slide left' : 'slide right', distance: t.distance, stop: t.stop },
      ],
      understanding: ['causal', 'physics'],
    };
  });
}

function everything(scene: Scene, rng: Rng, dir: Direction): EditDraft | null {
  const settled = settleAll(scene, dir);
  const ops: EditOp[] = [];
  const facts: ThinkingFact[] = [];
  for (const [id, { at, travel: t }] of settled) {
    if (t.distance === 0) continue;
    const o = findObject(scene, id)!;
    ops.push({ op: 'move', id, from: { x: o.x, y: o.y }, to: at });
    facts.push({ kind: 'physics', id, motion: dir === 'down' ? 'fall' : dir === 'left' ? 'slide left' : 'slide right', distance: t.distance, stop: t.stop });
  }
  if (ops.length === 0) return null;
  // Ops in draw order, so the list reads like a traversal of the picture.
  const order = new Map(scene.objects.map((o, i) => [o.id, i]));
  ops.sort((a, b) => order.get((a as { id: number }).id)! - order.get((b as { id: number }).id)!);
  const from = dir === 'right' ? 'left' : 'right';
  const [cause, instruction] =
    dir === 'down'
      ? rng.pick([
          ['everything loses its support', 'everything loses its support and falls; show where each object lands'],
          ['gravity is switched on', 'gravity is switched on: every object drops until it rests on the ground or on another object'],
        ] as const)
      : rng.pick([
          [`a strong wind blows from the ${from}`, `a strong wind blows from the ${from} and pushes every object as far as it will go`],
          [`the picture is tilted steeply toward the ${dir}`, `the picture is tilted steeply toward the ${dir}; every object slides until it is stopped`],
        ] as const);
  return {
    instruction: phrase(rng, [() => instruction]),
    ops,
    facts: [{ kind: 'cause', cause, effect: `every object moves ${dir} as far as it can` }, ...facts],
    understanding: ['causal', 'physics'],
  };
}

export const causalReasoning: CategoryGenerator = {
  category: 'causal_reasoning',
  hints: { maxObjects: 4 },
  generate(scene, rng) {
    const variants = [
      () => light(scene, rng),
      () => blow(scene, rng),
      () => everything(scene, rng, 'down'),
      () => everything(scene, rng, rng.pick(['left', 'right'] as const)),
    ];
    return firstOf(rng, variants, (f) => f());
  },
};
