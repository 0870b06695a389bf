// Binding CoTs to a hand-built scene: the implied scene of a hand-written traversal, strict errors
// naming the entry, lenient binding, the think variant's described result, and the validator's
// positioned consistency problems.
import { describe, expect, it } from 'vitest';
import { apply, bindOps, CotApplyError, describedScene, impliedScene, sceneOps } from '../../src/cot/apply.js';
import { cotOps, CotTypeError } from '../../src/cot/ops.js';
import { parseCot, parseCotWithSpans } from '../../src/cot/parse.js';
import { validateCot } from '../../src/cot/validate.js';
import { applyOps } from '../../src/world/ops.js';
import { canonicalScene, type Scene, scenesEqual } from '../../src/world/scene.js';
import { obj, scene } from '../world/helpers.js';

// Camera at (16, 16): view coordinates are world coordinates minus 16.
function source(): Scene {
  return canonicalScene(
    scene([
      obj(1, { shape: 'circle', color: 'red', size: 'medium', texture: 'solid', x: 20, y: 20 }), // @ 4 4
      obj(2, { shape: 'glyph', text: 'K', color: 'blue', size: 'large', texture: 'solid', x: 32, y: 18 }), // @ 16 2
      obj(3, { shape: 'square', color: 'green', size: 'small', texture: 'striped', x: 22, y: 36 }), // @ 6 20
      obj(4, { shape: 'ring', color: 'black', size: 'small', texture: 'solid', x: 2, y: 2 }), // off view
    ]),
  );
}

const REFS = {
  circle: '[ medium solid red circle @ 4 4 ]',
  k: '[ large solid blue letter K @ 16 2 ]',
  square: '[ small striped green square @ 6 20 ]',
};

function meta(summary: string, entries: string[], thinking = 'see 3 objects', globals = 'background keep ; style keep ; tone keep ; camera keep'): string {
  return `<summary> meta : ${summary} </summary> <thinking> ${thinking} </thinking> <traversal> ${[...entries, globals].join(' ; ')} </traversal>`;
}

describe('apply: a traversal gives the CoT-implied scene', () => {
  it('replace, move, remove, add and a global change, against a hand-computed target', () => {
    const text = meta('replace , replace , position_change , remove , add , replace', [
      `${REFS.circle} replace color red -> yellow , replace size medium -> large , move -> 10 12`,
      `${REFS.k} replace text K -> Q`,
      `${REFS.square} remove`,
      '[ medium dotted purple diamond @ 20 22 ] add',
    ], 'see 3 objects', 'background replace plain white -> striped red blue ; style keep ; tone keep ; camera keep');
    const got = apply(source(), cotOps(parseCot(text)));
    const want = source();
    want.background = { pattern: 'striped', color: 'red', color2: 'blue' };
    // resize keeps the centre (corner moves by trunc((7 - 10) / 2) = -1), then the move sets the corner
    want.objects[0] = { ...want.objects[0], color: 'yellow', size: 'large', x: 26, y: 28 };
    want.objects[1] = { ...want.objects[1], text: 'Q' };
    want.objects.splice(2, 1);
    // an added object gets the next id after the source's largest
    want.objects.push({ id: 5, shape: 'diamond', color: 'purple', size: 'medium', texture: 'dotted', x: 36, y: 38 });
    expect(scenesEqual(got, want)).toBe(true);

    // and the world ops it binds to reproduce it through the world's own applyOps
    const b = bindOps(source(), cotOps(parseCot(text)));
    expect(scenesEqual(applyOps(source(), b.ops), want)).toBe(true);
    expect(b.ops.map((o) => o.op)).toEqual(['replace', 'replace', 'move', 'replace', 'remove', 'add', 'replace_global']);
    expect([...b.ids.entries()]).toEqual([[0, 1], [1, 2], [2, 3], [3, 5]]);
  });

  it('shape changes to and from glyphs, camera pans and zooms', () => {
    const s = source();
    const text = meta('replace , replace , camera_motion', [
      `${REFS.circle} replace shape circle -> digit 7`,
      `${REFS.k} replace shape letter K -> cross`,
      `${REFS.square} keep`,
    ], 'see 3 objects', 'background keep ; style keep ; tone keep ; camera zoom out 2 @ -16 -16');
    const got = apply(s, cotOps(parseCot(text)));
    expect(got.objects[0]).toMatchObject({ shape: 'glyph', text: '7' });
    expect(got.objects[1].shape).toBe('cross');
    expect(got.objects[1].text).toBeUndefined();
    expect(got.camera).toEqual({ x: 0, y: 0, width: 64, height: 64 });
    const pan = meta('camera_motion', [`${REFS.circle} keep`, `${REFS.k} keep`, `${REFS.square} keep`], 'see 3 objects', 'background keep ; style keep ; tone keep ; camera pan left 8 down 16');
    expect(apply(s, cotOps(parseCot(pan))).camera).toEqual({ x: 8, y: 32, width: 32, height: 32 });
  });

  it('none implies the unchanged source', () => {
    expect(scenesEqual(impliedScene(source(), parseCot('')), source())).toBe(true);
    expect(sceneOps(source(), parseCot('')).ops).toEqual([]);
  });
});

describe('apply: what does not fit the scene', () => {
  const ok = [`${REFS.circle} replace color red -> yellow`, `${REFS.k} keep`, `${REFS.square} keep`];
  const cases: { name: string; entries: string[]; entry: number; reason: RegExp }[] = [
    { name: 'no object at the position', entries: [ok[0].replace('@ 4 4', '@ 5 4'), ok[1], ok[2]], entry: 0, reason: /no object of the source view has its corner there/ },
    { name: 'the object there looks different', entries: [ok[0].replace('medium solid red', 'large solid red'), ok[1], ok[2]], entry: 0, reason: /the object there is a medium solid red circle/ },
    { name: 'the old value is not the current one', entries: [ok[0].replace('red -> yellow', 'blue -> yellow'), ok[1], ok[2]], entry: 0, reason: /the object's color is red/ },
    { name: 'the old text is not what the glyph reads', entries: [ok[0], `${REFS.k} replace text Q -> K`, ok[2]], entry: 1, reason: /the object's text is K/ },
    { name: 'an off-view object cannot be named', entries: [...ok, '[ small solid black ring @ -14 -14 ] remove'], entry: 3, reason: /no object of the source view/ },
    { name: 'a change after a removal', entries: [ok[0], ok[1], `${REFS.square} remove`, `${REFS.square} replace color green -> red`], entry: 3, reason: /after it was removed/ },
  ];
  for (const c of cases) {
    it(`strict: ${c.name}`, () => {
      const ops = cotOps(parseCot(meta('replace', c.entries)));
      let err: unknown;
      try {
        apply(source(), ops);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CotApplyError);
      expect((err as CotApplyError).entry).toBe(c.entry);
      expect((err as Error).message).toMatch(c.reason);
      expect((err as Error).message).toMatch(new RegExp(`^cot: traversal entry ${c.entry + 1}: `));
    });
  }

  it('lenient: binds to the object at the spot or a same-looking one nearby, skips the rest and says why', () => {
    const text = meta('replace , remove , remove', [
      `${REFS.circle.replace('@ 4 4', '@ 5 3')} replace color red -> yellow`, // 1 unit off: the same-looking circle
      `${REFS.k.replace('blue', 'green')} remove`, // wrong colour at the right spot: that object
      '[ small solid red cross @ 28 28 ] remove', // nothing there: skipped
      `${REFS.square} replace color blue -> red`, // wrong old value: skipped
    ]);
    const b = bindOps(source(), cotOps(parseCot(text)), { lenient: true });
    expect(b.scene.objects.map((o) => [o.id, o.color])).toEqual([[1, 'yellow'], [3, 'green'], [4, 'black']]);
    expect(b.problems.map((p) => p.entry)).toEqual([0, 1, 2, 3]);
    expect(b.problems[0].message).toMatch(/bound to the same-looking object 1 unit\(s\) away/);
    expect(b.problems[1].message).toMatch(/bound to the large solid blue letter K there/);
    expect(b.problems[2].message).toMatch(/no object there or nearby/);
    expect(b.problems[3].message).toMatch(/color is green/);
  });

  it('an open-mode CoT with free words does not type as world ops', () => {
    const text = meta('replace', [`[ brown dog @ 1 1 ] replace object dog -> cat`]);
    expect(() => cotOps(parseCot(text, { mode: 'open' }))).toThrow(CotTypeError);
    expect(() => cotOps(parseCot(text, { mode: 'open' }))).toThrow(/traversal entry 1: expected a size/);
  });
});

describe('think: the described result', () => {
  it('matches objects by place, centre and look; unmatched ones are removed or added', () => {
    const text =
      '<think> the user asks : swap things . <result> ' +
      '[ large solid red circle @ 3 3 ] ; ' + // same centre as the medium circle at 4 4: resized in place
      '[ large solid blue letter K @ 10 10 ] ; ' + // same look, new place: moved
      '[ small solid pink cross @ 25 25 ] ; ' + // new
      'background plain white ; style outline ; tone warm ; camera keep </result> </think>';
    const got = describedScene(source(), parseCot(text) as Extract<ReturnType<typeof parseCot>, { variant: 'think' }>);
    expect(got.style).toBe('outline');
    expect(got.tone).toBe('warm');
    expect(got.objects).toEqual([
      { id: 1, shape: 'circle', color: 'red', size: 'large', texture: 'solid', x: 19, y: 19 },
      { id: 2, shape: 'glyph', text: 'K', color: 'blue', size: 'large', texture: 'solid', x: 26, y: 26 },
      { id: 4, shape: 'ring', color: 'black', size: 'small', texture: 'solid', x: 2, y: 2 }, // off view, untouched
      { id: 5, shape: 'cross', color: 'pink', size: 'small', texture: 'solid', x: 41, y: 41 },
    ]);
    const ops = sceneOps(source(), parseCot(text)).ops;
    expect(scenesEqual(applyOps(source(), ops), got)).toBe(true);
    expect(ops.map((o) => o.op)).toEqual(['replace_global', 'replace_global', 'replace', 'move', 'remove', 'add']);
  });
});

describe('validateCot: consistency problems point at the text', () => {
  const full = [`${REFS.circle} replace color red -> yellow`, `${REFS.k} keep`, `${REFS.square} keep`];
  const problems = (text: string, opts: Parameters<typeof validateCot>[1] = { source: source() }) => {
    const parsed = parseCotWithSpans(text);
    return { text, list: validateCot(parsed, opts) };
  };

  it('a consistent CoT has none', () => {
    expect(problems(meta('replace', full), { source: source(), category: 'color_alter' }).list).toEqual([]);
  });

  it('a summary that disagrees with the traversal', () => {
    const { text, list } = problems(meta('add', full));
    expect(list).toEqual([{ offset: text.indexOf('<summary>'), message: 'the meta-task summary says add but the traversal carries out replace' }]);
  });

  it('meta-tasks outside the category composition, and a triplet task that is not the category', () => {
    const t = meta('remove', [full[0].replace('replace color red -> yellow', 'remove'), full[1], full[2]]).replace('meta : remove', 'task : color_alter');
    const { list } = problems(t, { source: source(), category: 'subject_remove' });
    expect(list.map((p) => p.message)).toEqual([
      'task color_alter: remove is not a meta-task of world:color_alter (expected replace)',
      'the task summary says color_alter, the edit\'s category is subject_remove',
    ]);
  });

  it('an object left out, an object named twice, and a change that changes nothing', () => {
    const { text, list } = problems(meta('replace', [full[0], full[1], full[0].replace('replace color red -> yellow', 'keep')]));
    expect(list.map((p) => p.message)).toEqual([
      'names the same object as traversal entry 1',
      'the traversal does not name [ small striped green square @ 6 20 ], which is in view',
    ]);
    expect(list[0].offset).toBe(text.lastIndexOf(REFS.circle));
    expect(list[1].offset).toBe(text.length);
    expect(problems(meta('replace', [`${REFS.circle} keep`, full[1], full[2]])).list.map((p) => p.message)).toEqual([
      'the meta-task summary says replace but the traversal carries out nothing',
      'the traversal keeps everything: the edit changes nothing',
    ]);
  });

  it('thinking that misreads the picture', () => {
    const thinking = `see 4 objects ; read ${REFS.k} = R ; locate ${REFS.circle} = bottom right ; identify a ghost = [ small solid red cross @ 28 28 ]`;
    const { text, list } = problems(meta('replace', full, thinking));
    expect(list.map((p) => p.message)).toEqual([
      'see: the source view holds 3 objects, the thinking says 4',
      'read: [ large solid blue letter K @ 16 2 ] shows K, the thinking says R',
      'locate: [ medium solid red circle @ 4 4 ] is in the top left region, the thinking says bottom right',
      'identify: [ small solid red cross @ 28 28 ] is neither in the source view nor added by the traversal',
    ]);
    expect(list.map((p) => p.offset)).toEqual(['see', 'read', 'locate', 'identify'].map((k) => text.indexOf(`${k} `)));
  });

  it('a reference that does not bind is reported at its entry', () => {
    const { text, list } = problems(meta('replace', [full[0].replace('@ 4 4', '@ 9 9'), full[1], full[2]]));
    expect(list).toHaveLength(1);
    expect(list[0].offset).toBe(text.indexOf('[ medium solid red circle @ 9 9 ]', text.indexOf('<traversal>')));
    expect(list[0].message).toMatch(/^cot: traversal entry 1: .*no object of the source view/);
  });
});
