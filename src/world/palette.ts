// The world's colours. Everything the renderer draws is one of a small, known set of colours (object
// colours, their texture shades, pale background tints, the drop shadow), passed through the scene's
// tone. The scorer's naturalness measure is "how close is every pixel to that palette".

export const COLOR_NAMES = [
  'red', 'green', 'blue', 'yellow', 'purple', 'orange',
  'cyan', 'pink', 'brown', 'white', 'black', 'gray',
] as const;
export type ColorName = (typeof COLOR_NAMES)[number];

/** Colours a background may use (drawn as pale tints; black and brown tints read as mud). */
export const BACKGROUND_COLORS: readonly ColorName[] = [
  'red', 'green', 'blue', 'yellow', 'purple', 'orange', 'cyan', 'pink', 'white', 'gray',
];

export const TONE_NAMES = ['neutral', 'warm', 'cool', 'dark', 'bright', 'muted'] as const;
export type Tone = (typeof TONE_NAMES)[number];

export type Rgb = readonly [number, number, number];

export const BASE_RGB: Readonly<Record<ColorName, Rgb>> = {
  red: [220, 40, 40],
  green: [40, 160, 60],
  blue: [40, 80, 220],
  yellow: [235, 205, 40],
  purple: [140, 60, 180],
  orange: [240, 135, 30],
  cyan: [40, 190, 200],
  pink: [235, 110, 165],
  brown: [125, 75, 35],
  white: [230, 230, 230],
  black: [25, 25, 25],
  gray: [120, 120, 120],
};

/** Drop-shadow colour of the `shadow` style. */
export const SHADOW_RGB: Rgb = [50, 50, 50];

function luminance([r, g, b]: Rgb): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/**
 * The second colour of a textured object: darker for light colours, lighter for dark ones, so
 * stripes and dots stay visible on black as well as on yellow.
 */
export function shadeRgb(color: ColorName): Rgb {
  const c = BASE_RGB[color];
  return luminance(c) < 90 ? round(mix(c, [255, 255, 255], 0.3)) : round(mix(c, [0, 0, 0], 0.4));
}

/** The pale tint used for backgrounds, so objects stand out. */
export function paleRgb(color: ColorName): Rgb {
  return round(mix(BASE_RGB[color], [255, 255, 255], 0.65));
}

function round(c: Rgb): Rgb {
  return [Math.round(c[0]), Math.round(c[1]), Math.round(c[2])];
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** The tone's colour transform (a global grade, applied after drawing). */
export function applyTone(c: Rgb, tone: Tone): Rgb {
  const [r, g, b] = c;
  switch (tone) {
    case 'neutral':
      return [clamp255(r), clamp255(g), clamp255(b)];
    case 'warm':
      return [clamp255(r * 0.9 + 40), clamp255(g * 0.95 + 10), clamp255(b * 0.75)];
    case 'cool':
      return [clamp255(r * 0.75), clamp255(g * 0.95 + 10), clamp255(b * 0.9 + 40)];
    case 'dark':
      return [clamp255(r * 0.5), clamp255(g * 0.5), clamp255(b * 0.5)];
    case 'bright':
      return [clamp255(r + (255 - r) * 0.5), clamp255(g + (255 - g) * 0.5), clamp255(b + (255 - b) * 0.5)];
    case 'muted': {
      const l = luminance(c);
      return [clamp255(0.4 * r + 0.6 * l), clamp255(0.4 * g + 0.6 * l), clamp255(0.4 * b + 0.6 * l)];
    }
  }
}

/** Final (toned) colours the renderer uses, precomputed once per tone. */
export interface TonedPalette {
  base: Readonly<Record<ColorName, Rgb>>;
  shade: Readonly<Record<ColorName, Rgb>>;
  pale: Readonly<Record<ColorName, Rgb>>;
  shadow: Rgb;
  /** Every distinct colour above: what a clean render under this tone can contain. */
  all: readonly Rgb[];
}

const tonedCache = new Map<Tone, TonedPalette>();

export function tonedPalette(tone: Tone): TonedPalette {
  const hit = tonedCache.get(tone);
  if (hit) return hit;
  const base = {} as Record<ColorName, Rgb>;
  const shade = {} as Record<ColorName, Rgb>;
  const pale = {} as Record<ColorName, Rgb>;
  for (const name of COLOR_NAMES) {
    base[name] = applyTone(BASE_RGB[name], tone);
    shade[name] = applyTone(shadeRgb(name), tone);
    pale[name] = applyTone(paleRgb(name), tone);
  }
  const shadow = applyTone(SHADOW_RGB, tone);
  const seen = new Set<string>();
  const all: Rgb[] = [];
  for (const c of [...Object.values(base), ...Object.values(shade), ...Object.values(pale), shadow]) {
    const key = c.join(',');
    if (!seen.has(key)) {
      seen.add(key);
      all.push(c);
    }
  }
  const palette: TonedPalette = { base, shade, pale, shadow, all };
  tonedCache.set(tone, palette);
  return palette;
}

/** Euclidean distance in RGB (0..441). */
export function rgbDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const dr = a[0] - b[0];
  const dg = a[1] - b[1];
  const db = a[2] - b[2];
  return Math.sqrt(dr * dr + dg * dg + db * db);
}
