// The parser on hand-written CoTs: what it accepts, what it builds, and positioned errors (char
// offset, word number, what was expected, what came) for malformed ones.
import { describe, expect, it } from 'vitest';
import { CotSyntaxError, cotWords, parseCot, parseCotWithSpans, tryParseCot } from '../../src/cot/parse.js';
import { printCot } from '../../src/cot/print.js';

const TRAVERSAL_TAIL = 'background keep ; style keep ; tone keep ; camera keep </traversal>';
const META =
  '<summary> meta : replace , position_change </summary> <thinking> see 2 objects ; read [ large solid white letter K @ 20 17 ] = K </thinking> ' +
  '<traversal> [ large solid white letter K @ 20 17 ] replace text K -> Y ; [ small dotted red circle @ 3 4 ] move -> 0 4 ; ' +
  TRAVERSAL_TAIL;

/** Parses, expecting a CotSyntaxError; returns it. */
function syntaxError(text: string, mode: 'world' | 'open' = 'world'): CotSyntaxError {
  const r = tryParseCot(text, { mode });
  if (r.ok) throw new Error(`expected a syntax error, parsed: ${JSON.stringify(r.parsed.cot)}`);
  return r.error;
}

/** Offset of the n-th (0-based) occurrence of a word in the text. */
function wordAt(text: string, word: string, nth = 0): { offset: number; index: number } {
  const words = cotWords(text);
  const hits = words.map((w, i) => ({ w, i })).filter(({ w }) => w.text === word);
  const hit = hits[nth];
  if (!hit) throw new Error(`no occurrence ${nth} of ${word}`);
  return { offset: hit.w.offset, index: hit.i };
}

describe('parseCot: well-formed CoTs', () => {
  it('reads a meta CoT into its structure', () => {
    const cot = parseCot(META);
    expect(cot).toEqual({
      variant: 'meta',
      metaTasks: ['replace', 'position_change'],
      thinking: [
        { key: 'see', items: ['2', 'objects'] },
        { key: 'read', items: [{ words: ['large', 'solid', 'white', 'letter', 'K'], x: 20, y: 17 }, '=', 'K'] },
      ],
      traversal: [
        { kind: 'object', ref: { words: ['large', 'solid', 'white', 'letter', 'K'], x: 20, y: 17 }, actions: [{ kind: 'replace', attribute: 'text', from: ['K'], to: ['Y'] }] },
        { kind: 'object', ref: { words: ['small', 'dotted', 'red', 'circle'], x: 3, y: 4 }, actions: [{ kind: 'move', x: 0, y: 4 }] },
        { kind: 'global', target: 'background', action: { kind: 'keep' } },
        { kind: 'global', target: 'style', action: { kind: 'keep' } },
        { kind: 'global', target: 'tone', action: { kind: 'keep' } },
        { kind: 'camera', action: { kind: 'keep' } },
      ],
    });
    expect(printCot(cot)).toBe(META);
  });

  it('accepts any whitespace and reprints canonically', () => {
    const messy = `\n  ${META.split(' ').join('\n\t  ')}  \n`;
    expect(parseCot(messy)).toEqual(parseCot(META));
    expect(printCot(parseCot(messy))).toBe(META);
  });

  it('the empty text is the none variant', () => {
    expect(parseCot('')).toEqual({ variant: 'none' });
    expect(parseCot('   \n ')).toEqual({ variant: 'none' });
    expect(printCot({ variant: 'none' })).toBe('');
  });

  it('reads triplet summaries, chained actions, pans, zooms, backgrounds and the think variant', () => {
    const t =
      '<summary> task : multi_instruction </summary> <thinking> </thinking> <traversal> [ medium solid red circle @ 4 4 ] replace size medium -> large , move -> 10 10 ; ' +
      '[ large solid blue letter A @ 1 20 ] replace shape letter A -> diamond ; [ medium solid green digit 7 @ 20 2 ] add ; ' +
      'background replace plain white -> checkered red blue ; style replace flat -> mosaic ; tone keep ; camera zoom out 1.5 @ -8 -8 </traversal>';
    const cot = parseCot(t);
    expect(cot.variant).toBe('triplet');
    if (cot.variant !== 'triplet') return;
    expect(cot.task).toBe('multi_instruction');
    expect(cot.thinking).toEqual([]);
    expect(cot.traversal[0]).toMatchObject({ actions: [{ kind: 'replace', attribute: 'size' }, { kind: 'move', x: 10, y: 10 }] });
    expect(cot.traversal[1]).toMatchObject({ actions: [{ kind: 'replace', attribute: 'shape', from: ['letter', 'A'], to: ['diamond'] }] });
    expect(cot.traversal[6]).toEqual({ kind: 'camera', action: { kind: 'zoom', dir: 'out', factor: 1.5, x: -8, y: -8 } });
    expect(printCot(cot)).toBe(t);

    const pan = parseCot(`<summary> meta : camera_motion </summary> <thinking> </thinking> <traversal> background keep ; style keep ; tone keep ; camera pan left 8 down 16 </traversal>`);
    expect(pan.variant === 'meta' && pan.traversal[3]).toEqual({ kind: 'camera', action: { kind: 'pan', moves: [{ dir: 'left', n: 8 }, { dir: 'down', n: 16 }] } });

    const think = '<think> the user asks : Paint it red . <result> [ small solid red circle @ 1 2 ] ; background plain white ; style flat ; tone warm ; camera keep </result> </think>';
    expect(parseCot(think)).toEqual({
      variant: 'think',
      reasoning: ['the', 'user', 'asks', ':', 'Paint', 'it', 'red', '.'],
      result: [
        { kind: 'object', ref: { words: ['small', 'solid', 'red', 'circle'], x: 1, y: 2 } },
        { kind: 'global', target: 'background', value: ['plain', 'white'] },
        { kind: 'global', target: 'style', value: ['flat'] },
        { kind: 'global', target: 'tone', value: ['warm'] },
        { kind: 'camera', action: { kind: 'keep' } },
      ],
    });
    expect(printCot(parseCot(think))).toBe(think);
  });

  it('records where each part starts', () => {
    const { spans } = parseCotWithSpans(META);
    expect(spans.summary).toBe(0);
    expect(spans.thinking).toEqual([META.indexOf('see'), META.indexOf('read')]);
    expect(spans.traversal[0]).toBe(META.indexOf('[ large', META.indexOf('<traversal>')));
    expect(spans.traversal[1]).toBe(META.indexOf('[ small'));
    expect(spans.traversal[5]).toBe(META.indexOf('camera keep'));
    expect(spans.end).toBe(META.length);
  });

  it('open mode takes free descriptions and attributes of real photographs; world mode does not', () => {
    const real =
      '<summary> task : subject-replace </summary> <thinking> see 2 objects </thinking> <traversal> [ brown dog on the sofa @ 3 4 ] replace object dog -> cat ; ' +
      '[ red sofa @ 0 10 ] keep ; background keep ; style keep ; tone keep ; camera keep </traversal>';
    const cot = parseCot(real, { mode: 'open' });
    expect(cot.variant === 'triplet' && cot.traversal[0]).toEqual({
      kind: 'object',
      ref: { words: ['brown', 'dog', 'on', 'the', 'sofa'], x: 3, y: 4 },
      actions: [{ kind: 'replace', attribute: 'object', from: ['dog'], to: ['cat'] }],
    });
    const e = syntaxError(real);
    expect(e.offset).toBe(wordAt(real, 'subject-replace').offset);
    expect(e.expected).toMatch(/^a category \(background_change/);
  });
});

describe('parseCot: malformed CoTs give positioned errors', () => {
  const cases: { name: string; text: string; word: string; nth?: number; expected: RegExp; mode?: 'world' | 'open' }[] = [
    {
      name: 'an unknown colour in a description',
      text: META.replace('small dotted red circle', 'small dotted violet circle'),
      word: 'violet',
      expected: /^a colour \(red, green/,
    },
    { name: 'a description without "@"', text: META.replace('circle @ 3 4', 'circle 3 4'), word: '3', expected: /the end of the description \("@"\)/ },
    { name: 'an open description without "@"', text: META.replace('circle @ 3 4 ]', 'circle 3 4 ] move'), word: ']', nth: 2, expected: /"@" after the description/, mode: 'open' },
    { name: 'a coordinate that is not an integer', text: META.replace('move -> 0 4', 'move -> 0.5 4'), word: '0.5', expected: /^an integer \(x, view units\)/ },
    { name: 'an unknown meta-task', text: META.replace('meta : replace', 'meta : resize'), word: 'resize', expected: /^a meta-task \(add, remove, replace, camera_motion, position_change\)/ },
    { name: 'keep followed by another action', text: META.replace('move -> 0 4', 'keep , remove'), word: 'remove', nth: 0, expected: /nothing after "keep"/ },
    { name: 'a second background entry', text: META.replace('style keep', 'background keep'), word: 'background', nth: 1, expected: /each global target once \("background" was already named\)/ },
    { name: 'a missing camera entry', text: META.replace(' ; camera keep', ''), word: '</traversal>', expected: /a "camera" entry before the closing tag/ },
    { name: 'an unknown thinking statement', text: META.replace('see 2 objects', 'ponder 2 objects'), word: 'ponder', expected: /^a thinking statement \(see, identify/ },
    { name: 'a small glyph', text: META.replace(/large solid white letter K/g, 'small solid white letter K'), word: 'small', nth: 0, expected: /medium or large \(glyphs are never small\)/ },
    { name: 'a letter that is not a capital', text: META.replace(/letter K/g, 'letter k'), word: 'k', nth: 0, expected: /a capital letter A-Z/ },
    { name: 'an invalid replaced value', text: META.replace('replace text K -> Y', 'replace text K -> YY'), word: 'YY', expected: /one letter or digit/ },
    { name: 'a replace without "->"', text: META.replace('replace text K -> Y', 'replace text K Y'), word: ';', nth: 1, expected: /"->" between the old and the new value/ },
    { name: 'an unknown attribute', text: META.replace('replace text', 'replace mood'), word: 'mood', expected: /^an attribute \(color, texture, size, shape, text\)/ },
    { name: 'a plain background with two colours', text: META.replace('background keep', 'background replace plain red blue -> plain white'), word: 'blue', expected: /end of a plain background/ },
    { name: 'a striped background with one colour twice', text: META.replace('background keep', 'background replace plain red -> striped red red'), word: 'red', nth: 3, expected: /a second colour different from red/ },
    { name: 'a zoom factor of 1', text: META.replace('camera keep', 'camera zoom in 1 @ 0 0'), word: '1', expected: /a zoom factor above 1/ },
    { name: 'a pan along one axis twice', text: META.replace('camera keep', 'camera pan left 8 right 8'), word: 'right', expected: /a pan along the other axis/ },
    { name: 'words after the end', text: `${META} thanks`, word: 'thanks', expected: /^the end of the text$/ },
    { name: 'a text that starts with neither tag', text: `Sure! ${META}`, word: 'Sure!', expected: /"<summary>" \(triplet, meta\), "<think>" \(think\) or nothing/ },
    { name: 'a think without its result', text: '<think> the user asks : x </think>', word: '</think>', expected: /^"<result>"$/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = syntaxError(c.text, c.mode);
      const where = wordAt(c.text, c.word, c.nth ?? 0);
      expect(e).toBeInstanceOf(CotSyntaxError);
      expect(e.offset, e.message).toBe(where.offset);
      expect(e.word, e.message).toBe(where.index);
      expect(e.got).toBe(c.word);
      expect(e.expected, e.message).toMatch(c.expected);
      expect(e.message).toContain(`at char ${where.offset} (word ${where.index + 1})`);
    });
  }

  it('a truncated text points at its end', () => {
    const cut = META.slice(0, META.indexOf(' tone keep'));
    const e = syntaxError(cut);
    expect(e.offset).toBe(cut.length);
    expect(e.word).toBe(cotWords(cut).length);
    expect(e.got).toBeNull();
    expect(e.message).toMatch(/got the end of the text$/);
  });

  it('parseCot throws the same error', () => {
    expect(() => parseCot(META.replace('meta', 'mata'))).toThrow(CotSyntaxError);
    expect(() => parseCot(META.replace('meta', 'mata'))).toThrow(/at char 10 \(word 2\): expected "task" \(triplet\) or "meta"/);
  });
});
