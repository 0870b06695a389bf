// The scene model: what a picture of the synthetic world *is*, independent of pixels.
//
// A scene is a world plane (default 64x64 world units) holding a background and objects; a camera
// window (default 32x32 units) picks the part that is rendered onto the canvas. Objects are
// axis-aligned boxes of size x size units with an integer top-left corner; their shape, colour and
// texture are drawn inside that box. Array order is draw order (later objects are drawn on top).
// Object ids are stable across edits, so "the same object" in source and target is the same id.

import type { ColorName, Tone } from './palette.js';

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross', 'ring', 'glyph'] as const;
export type Shape = (typeof SHAPES)[number];
/** Shapes drawn from geometry (everything but glyphs, which carry a letter or digit). */
export const BASIC_SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross', 'ring'] as const;
export type BasicShape = (typeof BASIC_SHAPES)[number];

export const TEXTURES = ['solid', 'striped', 'dotted', 'checkered'] as const;
export type Texture = (typeof TEXTURES)[number];

export const SIZES = ['small', 'medium', 'large'] as const;
export type Size = (typeof SIZES)[number];
/** Box side in world units. Glyphs are medium or large: the 5x7 font needs 7 units. */
export const SIZE_UNITS: Readonly<Record<Size, number>> = { small: 5, medium: 7, large: 10 };

export const STYLES = ['flat', 'outline', 'shadow', 'mosaic'] as const;
export type Style = (typeof STYLES)[number];

export const BACKGROUND_PATTERNS = ['plain', 'striped', 'checkered'] as const;
export type BackgroundPattern = (typeof BACKGROUND_PATTERNS)[number];

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DIGITS = '0123456789';
export const GLYPH_CHARS = LETTERS + DIGITS;

export const WORLD_SIZE = 64;
export const VIEW_SIZE = 32;

export interface Point {
  x: number;
  y: number;
}

/** Half-open box [x0, x1) x [y0, y1) in world units. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The window of the world plane that is rendered: top-left corner and extent, in world units. */
export interface Camera {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Background, drawn in pale tints of its colours over the whole world plane (so a camera pan moves
 * the pattern). `color2` is the second colour of stripes and checks; a plain background holds
 * color2 === color, so two backgrounds that look the same are the same value.
 */
export interface Background {
  pattern: BackgroundPattern;
  color: ColorName;
  color2: ColorName;
}

export interface SceneObject {
  /** Stable identity across edits; unique within a scene. */
  id: number;
  shape: Shape;
  /** The letter or digit of a glyph; present exactly when shape === 'glyph'. */
  text?: string;
  color: ColorName;
  size: Size;
  /** Glyphs are always solid (a texture on a 1-unit stroke is not visible). */
  texture: Texture;
  /** Top-left corner of the object's box, integer world units. */
  x: number;
  y: number;
}

export interface Scene {
  world: { width: number; height: number };
  camera: Camera;
  background: Background;
  style: Style;
  tone: Tone;
  objects: SceneObject[];
}

export function sizeUnits(o: Pick<SceneObject, 'size'>): number {
  return SIZE_UNITS[o.size];
}

export function objectBox(o: Pick<SceneObject, 'x' | 'y' | 'size'>): Box {
  const s = SIZE_UNITS[o.size];
  return { x0: o.x, y0: o.y, x1: o.x + s, y1: o.y + s };
}

export function boxCenter(b: Box): Point {
  return { x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 };
}

export function cameraBox(c: Camera): Box {
  return { x0: c.x, y0: c.y, x1: c.x + c.width, y1: c.y + c.height };
}

/** True when the boxes overlap or come closer than `gap` units. */
export function boxesTouch(a: Box, b: Box, gap = 0): boolean {
  return a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap;
}

export function boxInside(inner: Box, outer: Box): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;
}

export function findObject(scene: Scene, id: number): SceneObject | undefined {
  return scene.objects.find((o) => o.id === id);
}

/** The id an added object gets: one past the largest id ever present in this scene. */
export function nextObjectId(scene: Scene): number {
  return scene.objects.reduce((m, o) => Math.max(m, o.id), 0) + 1;
}

/** Object fully inside the camera window (what the instruction and the picture talk about). */
export function inView(scene: Scene, o: SceneObject): boolean {
  return boxInside(objectBox(o), cameraBox(scene.camera));
}

/** Object entirely outside the camera window. */
export function outOfView(scene: Scene, o: SceneObject): boolean {
  return !boxesTouch(objectBox(o), cameraBox(scene.camera));
}

/** Objects fully inside the view, in draw order. */
export function viewObjects(scene: Scene): SceneObject[] {
  return scene.objects.filter((o) => inView(scene, o));
}

export function cloneScene(scene: Scene): Scene {
  return structuredClone(scene);
}

/**
 * Canonical JSON of a scene (fixed key order), so equal scenes serialise to equal bytes and the
 * manifest is byte-stable whatever order code happened to build an object in.
 */
export function canonicalScene(scene: Scene): Scene {
  return {
    world: { width: scene.world.width, height: scene.world.height },
    camera: { x: scene.camera.x, y: scene.camera.y, width: scene.camera.width, height: scene.camera.height },
    background: { pattern: scene.background.pattern, color: scene.background.color, color2: scene.background.color2 },
    style: scene.style,
    tone: scene.tone,
    objects: scene.objects.map(canonicalObject),
  };
}

export function canonicalObject(o: SceneObject): SceneObject {
  const out: SceneObject = { id: o.id, shape: o.shape } as SceneObject;
  if (o.shape === 'glyph') out.text = o.text;
  out.color = o.color;
  out.size = o.size;
  out.texture = o.texture;
  out.x = o.x;
  out.y = o.y;
  return out;
}

export function scenesEqual(a: Scene, b: Scene): boolean {
  return JSON.stringify(canonicalScene(a)) === JSON.stringify(canonicalScene(b));
}

/** A problem with a value: the field it is in (dotted path, "objects[2].text") and what is wrong. */
export interface Problem {
  field: string;
  message: string;
}

/**
 * Structural checks a schema cannot express: unique ids, text iff glyph, solid glyphs, medium+
 * glyphs, plain backgrounds with color2 === color, camera and objects inside the world plane.
 * Empty when the scene is sound.
 */
export function sceneProblems(scene: Scene): Problem[] {
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });
  const { world, camera, background } = scene;
  if (camera.width <= 0 || camera.height <= 0) {
    add('camera', `expected a positive extent, got ${camera.width}x${camera.height}`);
  }
  if (!boxInside(cameraBox(camera), { x0: 0, y0: 0, x1: world.width, y1: world.height })) {
    add('camera', `expected a window inside the ${world.width}x${world.height} world, got ${JSON.stringify(camera)}`);
  }
  if (background.pattern === 'plain' && background.color2 !== background.color) {
    add('background.color2', `a plain background holds color2 === color, got ${background.color2} vs ${background.color}`);
  }
  if (background.pattern !== 'plain' && background.color2 === background.color) {
    add('background.color2', `a ${background.pattern} background needs two colours, got ${background.color} twice`);
  }
  const ids = new Set<number>();
  scene.objects.forEach((o, i) => {
    const at = `objects[${i}]`;
    if (ids.has(o.id)) add(`${at}.id`, `duplicate id ${o.id}`);
    ids.add(o.id);
    if (o.shape === 'glyph') {
      if (typeof o.text !== 'string' || o.text.length !== 1 || !GLYPH_CHARS.includes(o.text)) {
        add(`${at}.text`, `a glyph needs one of ${GLYPH_CHARS}, got ${JSON.stringify(o.text)}`);
      }
      if (o.size === 'small') add(`${at}.size`, 'glyphs are medium or large, got small');
      if (o.texture !== 'solid') add(`${at}.texture`, `glyphs are solid, got ${o.texture}`);
    } else if (o.text !== undefined) {
      add(`${at}.text`, `only glyphs carry text, got ${JSON.stringify(o.text)} on a ${o.shape}`);
    }
    if (!boxInside(objectBox(o), { x0: 0, y0: 0, x1: world.width, y1: world.height })) {
      add(at, `expected the box inside the world plane, got x=${o.x} y=${o.y} size=${o.size}`);
    }
  });
  return problems;
}
