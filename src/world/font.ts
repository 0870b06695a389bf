// A 5x7 bitmap font for glyph objects: upper-case letters and digits. Each glyph is 7 rows of 5
// columns ('#' = ink). Small and hand-drawn so the renderer needs no font files and OCR questions
// have exact answers; every glyph is distinct (checked in test/world/font.test.ts).

export const FONT_WIDTH = 5;
export const FONT_HEIGHT = 7;

const RAW: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
};

function parse(ch: string, spec: string): Uint8Array {
  const rows = spec.split(' ');
  if (rows.length !== FONT_HEIGHT || rows.some((r) => r.length !== FONT_WIDTH)) {
    throw new Error(`font: glyph ${ch} must be ${FONT_HEIGHT} rows of ${FONT_WIDTH}, got ${JSON.stringify(spec)}`);
  }
  const bits = new Uint8Array(FONT_WIDTH * FONT_HEIGHT);
  rows.forEach((row, r) => {
    for (let c = 0; c < FONT_WIDTH; c++) bits[r * FONT_WIDTH + c] = row[c] === '#' ? 1 : 0;
  });
  return bits;
}

const GLYPHS = new Map<string, Uint8Array>(Object.entries(RAW).map(([ch, spec]) => [ch, parse(ch, spec)]));

/** The characters the font can draw. */
export const FONT_CHARS: readonly string[] = [...GLYPHS.keys()];

/** Row-major 5x7 ink bitmap of a character; throws for characters the font lacks. */
export function glyphBitmap(ch: string): Uint8Array {
  const g = GLYPHS.get(ch);
  if (!g) throw new RangeError(`glyphBitmap: expected one of ${FONT_CHARS.join('')}, got ${JSON.stringify(ch)}`);
  return g;
}

/** Ink at column col (0..4), row row (0..6) of a character. */
export function glyphInk(ch: string, col: number, row: number): boolean {
  if (col < 0 || col >= FONT_WIDTH || row < 0 || row >= FONT_HEIGHT) return false;
  return glyphBitmap(ch)[row * FONT_WIDTH + col] === 1;
}
