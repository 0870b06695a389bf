// Geometry of shapes and textures, as point tests in an object's own coordinates. The renderer
// samples these at pixel centres, so a shape looks the same at every canvas size up to scaling.

import { FONT_HEIGHT, FONT_WIDTH, glyphInk } from './font.js';
import type { BackgroundPattern, Shape, Texture } from './scene.js';

// Thin arms: at 5-7 units a plus with 3-unit arms is almost the disc it is drawn beside.
const CROSS_HALF_WIDTH = 0.125;
const RING_INNER = 0.3;
/** A glyph's 5x7 bitmap is centred in its square box, leaving 1/7 of the box on each side. */
const GLYPH_MARGIN = (FONT_HEIGHT - FONT_WIDTH) / 2 / FONT_HEIGHT;

/**
 * Whether the point (u, v) of the unit box [0,1)^2 is inside the shape. v grows downwards; the
 * triangle points up.
 */
export function insideShape(shape: Shape, u: number, v: number, text?: string): boolean {
  if (u < 0 || u >= 1 || v < 0 || v >= 1) return false;
  const du = u - 0.5;
  const dv = v - 0.5;
  switch (shape) {
    case 'square':
      return true;
    case 'circle':
      return du * du + dv * dv <= 0.25;
    case 'triangle':
      return Math.abs(du) <= v / 2;
    case 'diamond':
      return Math.abs(du) + Math.abs(dv) <= 0.5;
    case 'cross':
      return Math.abs(du) <= CROSS_HALF_WIDTH || Math.abs(dv) <= CROSS_HALF_WIDTH;
    case 'ring': {
      const r2 = du * du + dv * dv;
      return r2 <= 0.25 && r2 >= RING_INNER * RING_INNER;
    }
    case 'glyph': {
      if (text === undefined) return false;
      const gu = (u - GLYPH_MARGIN) / (1 - 2 * GLYPH_MARGIN);
      if (gu < 0 || gu >= 1) return false;
      return glyphInk(text, Math.floor(gu * FONT_WIDTH), Math.floor(v * FONT_HEIGHT));
    }
  }
}

/**
 * Whether the point (lx, ly), in world units from the object's top-left corner, takes the texture's
 * second colour (the shade) rather than the object's colour.
 */
export function textureShade(texture: Texture, lx: number, ly: number): boolean {
  switch (texture) {
    case 'solid':
      return false;
    case 'striped':
      return Math.floor(ly) % 2 === 1;
    case 'dotted':
      return Math.floor(lx) % 3 === 1 && Math.floor(ly) % 3 === 1;
    case 'checkered':
      return (Math.floor(lx / 2) + Math.floor(ly / 2)) % 2 === 1;
  }
}

/** Whether the world point (wx, wy) takes the background's second colour. */
export function backgroundSecond(pattern: BackgroundPattern, wx: number, wy: number): boolean {
  switch (pattern) {
    case 'plain':
      return false;
    case 'striped':
      return Math.floor(wy / 2) % 2 === 1;
    case 'checkered':
      return (Math.floor(wx / 4) + Math.floor(wy / 4)) % 2 === 1;
  }
}
