// What the CoT says about a scene, computed from the scene: view coordinates, the reading order of
// the objects in view, object references, counts, regions, spatial relations, text read. Built on
// the world's exported geometry; nothing here changes a scene.

import type { Relation } from '../world/edit.js';
import { objectRegion } from '../world/layout.js';
import { type Camera, findObject, objectBox, type Point, type Scene, type SceneObject, viewObjects } from '../world/scene.js';
import type { ObjectRef } from './ast.js';
import { lookOf, lookWords } from './values.js';

/** n with -0 made 0: coordinates print as "0" and compare equal after a round trip. */
export function unsigned0(n: number): number {
  return n === 0 ? 0 : n;
}

/** An object's top-left corner in view units of a camera. */
export function viewPoint(camera: Camera, p: Point): Point {
  return { x: unsigned0(p.x - camera.x), y: unsigned0(p.y - camera.y) };
}

/** The CoT's reference to an object: its look and its corner relative to the camera (default: the scene's). */
export function refOf(scene: Scene, o: SceneObject, camera: Camera = scene.camera): ObjectRef {
  const p = viewPoint(camera, o);
  return { words: lookWords(lookOf(o)), x: p.x, y: p.y };
}

/** Top to bottom, then left to right (by the box corner), then by id: how the traversal scans a picture. */
export function readingOrder(objects: readonly SceneObject[]): SceneObject[] {
  return [...objects].sort((a, b) => a.y - b.y || a.x - b.x || a.id - b.id);
}

/** The objects fully in view, in reading order. */
export function shownObjects(scene: Scene): SceneObject[] {
  return readingOrder(viewObjects(scene));
}

/** Objects fully inside a camera window other than the scene's own (the source view, after a camera move). */
export function objectsInWindow(scene: Scene, camera: Camera): SceneObject[] {
  return readingOrder(viewObjects({ ...scene, camera }));
}

/** Region words of an object ("top left", "center"). */
export function regionWords(scene: Scene, o: SceneObject): string[] {
  return objectRegion(scene, o).split(' ');
}

/** How a is placed relative to b along one axis, or null when their boxes overlap along it. */
export function relationOf(a: SceneObject, b: SceneObject, axis: 'x' | 'y'): Relation | null {
  const ba = objectBox(a);
  const bb = objectBox(b);
  if (axis === 'x') return ba.x1 <= bb.x0 ? 'left of' : bb.x1 <= ba.x0 ? 'right of' : null;
  return ba.y1 <= bb.y0 ? 'above' : bb.y1 <= ba.y0 ? 'below' : null;
}

/** Whether "a <relation> b" holds for the boxes. */
export function relationHolds(a: SceneObject, b: SceneObject, rel: Relation): boolean {
  const axis = rel === 'left of' || rel === 'right of' ? 'x' : 'y';
  return relationOf(a, b, axis) === rel;
}

/** The object of the source scene (or, failing that, the target) with an id. */
export function objectOf(id: number, ...scenes: Scene[]): { scene: Scene; o: SceneObject } | null {
  for (const scene of scenes) {
    const o = findObject(scene, id);
    if (o) return { scene, o };
  }
  return null;
}
