// Shared by camera_pan and camera_zoom: which objects a camera move brings into view or takes out.

import type { ThinkingFact } from '../edit.js';
import { touchingView } from '../layout.js';
import type { Camera, Scene } from '../scene.js';

export function cameraFact(scene: Scene, to: Camera, motion: string): ThinkingFact {
  const before = new Set(touchingView(scene).map((o) => o.id));
  const after = new Set(touchingView({ ...scene, camera: to }).map((o) => o.id));
  return {
    kind: 'camera',
    motion,
    entering: [...after].filter((id) => !before.has(id)).sort((a, b) => a - b),
    leaving: [...before].filter((id) => !after.has(id)).sort((a, b) => a - b),
  };
}

export function cameraInWorld(scene: Scene, c: Camera): boolean {
  return c.x >= 0 && c.y >= 0 && c.x + c.width <= scene.world.width && c.y + c.height <= scene.world.height;
}
