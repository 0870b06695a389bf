// 4. motion_change: position change by an action verb (fall, jump, slide). Understanding: physics
// (where the motion stops: the floor, the ceiling, a wall, or another object in the way).

import type { Motion } from '../edit.js';
import { type Direction, moved, travel } from '../layout.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';

const MOTION_DIR: Readonly<Record<Motion, Direction>> = { fall: 'down', jump: 'up', 'slide left': 'left', 'slide right': 'right' };
const MIN_TRAVEL = 2;

export const motionChange: CategoryGenerator = {
  category: 'motion_change',
  hints: { minObjects: 1, maxObjects: 4 },
  generate(scene, rng) {
    const candidates = referables(scene).flatMap((r) =>
      (Object.keys(MOTION_DIR) as Motion[]).map((motion) => ({ ...r, motion })),
    );
    return firstOf(rng, candidates, ({ o, ref, motion }) => {
      const dir = MOTION_DIR[motion];
      const t = travel(scene, o, dir);
      if (t.distance < MIN_TRAVEL) return null;
      const side = dir === 'left' ? 'left' : 'right';
      const instruction =
        motion === 'fall'
          ? phrase(rng, [
              () => `make the ${ref} fall down until it lands`,
              () => `let the ${ref} drop to the ground`,
              () => `the ${ref} loses its support and falls; show where it comes to rest`,
            ])
          : motion === 'jump'
            ? phrase(rng, [
                () => `make the ${ref} jump straight up as high as it can go`,
                () => `the ${ref} leaps upward until something stops it`,
                () => `make the ${ref} jump up to the highest point it can reach`,
              ])
            : phrase(rng, [
                () => `slide the ${ref} to the ${side} until it stops`,
                () => `push the ${ref} so that it slides all the way ${side}`,
                () => `the ${ref} slides ${side} until it hits something`,
              ]);
      return {
        instruction,
        ops: [{ op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: moved(o, dir, t.distance) }],
        facts: [...ground(scene, o), { kind: 'physics', id: o.id, motion, distance: t.distance, stop: t.stop }],
      };
    });
  },
};
