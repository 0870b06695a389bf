// 18. camera_pan: camera motion sideways or up/down by a quarter or half of the frame; objects
// slide through the frame, some leave, hidden ones come in. Understanding: camera.

import type { Direction } from '../layout.js';
import { cameraFact, cameraInWorld } from './camera.js';
import { type CategoryGenerator, firstOf, phrase } from './kit.js';

export const cameraPan: CategoryGenerator = {
  category: 'camera_pan',
  hints: { offView: [1, 4] },
  generate(scene, rng) {
    const options = (['left', 'right', 'up', 'down'] as const).flatMap((dir) => [
      { dir, frac: 'a quarter', f: 0.25 },
      { dir, frac: 'half', f: 0.5 },
    ]);
    return firstOf(rng, options, ({ dir, frac, f }) => {
      const c = scene.camera;
      const d = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] }[dir as Direction];
      const to = { ...c, x: c.x + d[0] * Math.round(c.width * f), y: c.y + d[1] * Math.round(c.height * f) };
      if (!cameraInWorld(scene, to)) return null;
      const extent = dir === 'left' || dir === 'right' ? 'width' : 'height';
      const instruction = phrase(rng, [
        () => `pan the camera ${dir} by ${frac} of the frame`,
        () => `move the view ${dir} by ${frac} of the picture ${extent}`,
        () => `shift the camera ${frac === 'half' ? 'half a frame' : 'a quarter of a frame'} to the ${dir === 'up' ? 'top' : dir === 'down' ? 'bottom' : dir}`,
        () => `look ${frac === 'half' ? 'half a frame' : 'a quarter of a frame'} further ${dir}`,
      ]);
      return {
        instruction,
        ops: [{ op: 'camera', from: { ...c }, to }],
        facts: [cameraFact(scene, to, `pan ${dir} by ${frac} of the frame`)],
      };
    });
  },
};
