// 19. camera_zoom: camera motion in depth. Zoom in 2x on the centre, on a quarter of the frame or on
// an object; zoom out 1.5x or 2x about the centre. Understanding: camera.

import type { EditDraft } from '../edit.js';
import type { Rng } from '../rng.js';
import { boxCenter, type Camera, objectBox, type Scene } from '../scene.js';
import { cameraFact, cameraInWorld } from './camera.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';

const QUARTERS = [
  { name: 'top left', dx: 0, dy: 0 },
  { name: 'top right', dx: 1, dy: 0 },
  { name: 'bottom left', dx: 0, dy: 1 },
  { name: 'bottom right', dx: 1, dy: 1 },
] as const;

function draft(scene: Scene, to: Camera, motion: string, instruction: string): EditDraft | null {
  if (!cameraInWorld(scene, to)) return null;
  return { instruction, ops: [{ op: 'camera', from: { ...scene.camera }, to }], facts: [cameraFact(scene, to, motion)] };
}

function zoomCenter(scene: Scene, rng: Rng): EditDraft | null {
  const c = scene.camera;
  const to = { x: c.x + c.width / 4, y: c.y + c.height / 4, width: c.width / 2, height: c.height / 2 };
  return draft(scene, to, 'zoom in 2x on the center', phrase(rng, [
    () => 'zoom in 2x on the center of the picture',
    () => 'zoom the camera in so the middle half of the frame fills the picture',
    () => 'move the camera closer: double the magnification, keeping the center fixed',
  ]));
}

function zoomQuarter(scene: Scene, rng: Rng): EditDraft | null {
  const c = scene.camera;
  return firstOf(rng, QUARTERS, (q) => {
    const to = { x: c.x + (q.dx * c.width) / 2, y: c.y + (q.dy * c.height) / 2, width: c.width / 2, height: c.height / 2 };
    return draft(scene, to, `zoom in 2x on the ${q.name} quarter`, phrase(rng, [
      () => `zoom in on the ${q.name} quarter of the picture`,
      () => `crop to the ${q.name} quarter and enlarge it to fill the frame`,
    ]));
  });
}

function zoomObject(scene: Scene, rng: Rng): EditDraft | null {
  const c = scene.camera;
  return firstOf(rng, referables(scene), ({ o, ref }) => {
    const center = boxCenter(objectBox(o));
    const w = c.width / 2;
    const h = c.height / 2;
    const to = {
      x: Math.min(scene.world.width - w, Math.max(0, Math.round(center.x - w / 2))),
      y: Math.min(scene.world.height - h, Math.max(0, Math.round(center.y - h / 2))),
      width: w,
      height: h,
    };
    const d = draft(scene, to, `zoom in 2x on object ${o.id}`, phrase(rng, [
      () => `zoom in 2x on the ${ref}`,
      () => `move the camera in on the ${ref} so it is centered and twice as big`,
    ]));
    return d && { ...d, facts: [...ground(scene, o), ...d.facts] };
  });
}

function zoomOut(scene: Scene, rng: Rng): EditDraft | null {
  const c = scene.camera;
  return firstOf(rng, [2, 1.5], (f) => {
    const to = { x: c.x - (c.width * (f - 1)) / 2, y: c.y - (c.height * (f - 1)) / 2, width: c.width * f, height: c.height * f };
    const times = f === 2 ? 'twice' : '1.5 times';
    return draft(scene, to, `zoom out ${f}x about the center`, phrase(rng, [
      () => `zoom out so the view covers ${times} as much in each direction`,
      () => `pull the camera back ${f}x, keeping the center fixed`,
      () => `zoom out by a factor of ${f}`,
    ]));
  });
}

export const cameraZoom: CategoryGenerator = {
  category: 'camera_zoom',
  hints: { offView: [1, 4] },
  generate(scene, rng) {
    return firstOf(rng, [zoomCenter, zoomQuarter, zoomObject, zoomOut], (f) => f(scene, rng));
  },
};
