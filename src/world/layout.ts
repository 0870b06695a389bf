// Geometry the generators share: regions of the view, free space, and the world's simple physics
// (things fall to the bottom edge of the view, slide until they touch a wall or another object).

import { type Region, REGIONS } from './edit.js';
import {
  type Box, type Point, type Scene, type SceneObject, boxCenter, boxesTouch, boxInside, cameraBox, objectBox,
  SIZE_UNITS, type Size, viewObjects,
} from './scene.js';

/** Gap (world units) kept between objects the generators place, so shapes stay separable. */
export const PLACE_GAP = 1;

/** The region of the view a world point falls in (thirds of the camera window). */
export function regionOf(scene: Scene, p: Point): Region {
  const c = scene.camera;
  const col = Math.min(2, Math.max(0, Math.floor(((p.x - c.x) / c.width) * 3)));
  const row = Math.min(2, Math.max(0, Math.floor(((p.y - c.y) / c.height) * 3)));
  return REGIONS[row * 3 + col];
}

export function objectRegion(scene: Scene, o: SceneObject): Region {
  return regionOf(scene, boxCenter(objectBox(o)));
}

/** Top-left corner that centres a box of the given size in a region's cell (the one fixed spot). */
export function regionCorner(scene: Scene, region: Region, size: Size): Point {
  const i = REGIONS.indexOf(region);
  const c = scene.camera;
  const s = SIZE_UNITS[size];
  const cx = c.x + ((i % 3) + 0.5) * (c.width / 3);
  const cy = c.y + (Math.floor(i / 3) + 0.5) * (c.height / 3);
  return { x: Math.round(cx - s / 2), y: Math.round(cy - s / 2) };
}

export function boxOf(at: Point, size: Size): Box {
  const s = SIZE_UNITS[size];
  return { x0: at.x, y0: at.y, x1: at.x + s, y1: at.y + s };
}

export function fitsView(scene: Scene, box: Box): boolean {
  return boxInside(box, cameraBox(scene.camera));
}

/** No object (other than those ignored) within `gap` units of the box, anywhere in the world. */
export function isFree(scene: Scene, box: Box, ignore: readonly number[] = [], gap = PLACE_GAP): boolean {
  return scene.objects.every((o) => ignore.includes(o.id) || !boxesTouch(objectBox(o), box, gap));
}

/** In view and free: a spot an object may be put. */
export function canPlace(scene: Scene, box: Box, ignore: readonly number[] = []): boolean {
  return fitsView(scene, box) && isFree(scene, box, ignore);
}

export type Direction = 'up' | 'down' | 'left' | 'right';

export const DIRECTION_DELTA: Readonly<Record<Direction, Point>> = {
  up: { x: 0, y: -1 },
  down: { x: 0, y: 1 },
  left: { x: -1, y: 0 },
  right: { x: 1, y: 0 },
};

export interface Travel {
  /** Units the object can move before it touches something. */
  distance: number;
  /** What stops it: 'floor', 'ceiling', 'left wall', 'right wall', or the blocking object. */
  stop: string;
  blocker?: number;
}

const EDGE_NAME: Readonly<Record<Direction, string>> = { down: 'floor', up: 'ceiling', left: 'left wall', right: 'right wall' };

/**
 * How far an object moves in a direction until its box touches the edge of the view or the box of
 * another in-view object in its path (the world's physics: no friction, no bounce).
 */
export function travel(scene: Scene, o: SceneObject, dir: Direction, ignore: readonly number[] = []): Travel {
  const b = objectBox(o);
  const v = cameraBox(scene.camera);
  let distance = dir === 'down' ? v.y1 - b.y1 : dir === 'up' ? b.y0 - v.y0 : dir === 'left' ? b.x0 - v.x0 : v.x1 - b.x1;
  let stop = EDGE_NAME[dir];
  let blocker: number | undefined;
  for (const q of viewObjects(scene)) {
    if (q.id === o.id || ignore.includes(q.id)) continue;
    const qb = objectBox(q);
    const vertical = dir === 'up' || dir === 'down';
    const inPath = vertical ? qb.x0 < b.x1 && b.x0 < qb.x1 : qb.y0 < b.y1 && b.y0 < qb.y1;
    if (!inPath) continue;
    const gap =
      dir === 'down' ? qb.y0 - b.y1 : dir === 'up' ? b.y0 - qb.y1 : dir === 'left' ? b.x0 - qb.x1 : qb.x0 - b.x1;
    if (gap >= 0 && gap < distance) {
      distance = gap;
      stop = `object ${q.id}`;
      blocker = q.id;
    }
  }
  return { distance: Math.max(0, distance), stop, blocker };
}

export function moved(o: SceneObject, dir: Direction, distance: number): Point {
  const d = DIRECTION_DELTA[dir];
  return { x: o.x + d.x * distance, y: o.y + d.y * distance };
}

/**
 * Moves every in-view object as far as it goes in one direction (gravity, wind), nearest to the
 * destination edge first so the others pile up against it. Returns the objects' new corners.
 */
export function settleAll(scene: Scene, dir: Direction): Map<number, { at: Point; travel: Travel }> {
  const work = structuredClone(scene);
  const order = viewObjects(work).sort((a, b) => {
    const ba = objectBox(a);
    const bb = objectBox(b);
    const key = (x: Box) => (dir === 'down' ? -x.y1 : dir === 'up' ? x.y0 : dir === 'left' ? x.x0 : -x.x1);
    return key(ba) - key(bb) || a.id - b.id;
  });
  const out = new Map<number, { at: Point; travel: Travel }>();
  for (const o of order) {
    const t = travel(work, o, dir);
    const at = moved(o, dir, t.distance);
    o.x = at.x;
    o.y = at.y;
    out.set(o.id, { at, travel: t });
  }
  return out;
}

/** Corner that puts a box of `size` beside `anchor` on the given side, one unit apart, centred. */
export function besideCorner(anchor: Box, side: 'left of' | 'right of' | 'above' | 'below', size: Size): Point {
  const s = SIZE_UNITS[size];
  const c = boxCenter(anchor);
  const cx = Math.round(c.x - s / 2);
  const cy = Math.round(c.y - s / 2);
  switch (side) {
    case 'left of':
      return { x: anchor.x0 - PLACE_GAP - s, y: cy };
    case 'right of':
      return { x: anchor.x1 + PLACE_GAP, y: cy };
    case 'above':
      return { x: cx, y: anchor.y0 - PLACE_GAP - s };
    case 'below':
      return { x: cx, y: anchor.y1 + PLACE_GAP };
  }
}

/** The objects whose boxes touch the camera window (at least partly visible). */
export function touchingView(scene: Scene): SceneObject[] {
  const v = cameraBox(scene.camera);
  return scene.objects.filter((o) => boxesTouch(objectBox(o), v));
}
