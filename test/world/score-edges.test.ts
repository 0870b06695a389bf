// The scorer's edges: artifacts() refuses images of different sizes (width or height alone), a 1x1
// image (no neighbours) is clean, and an output farther from the target than the source was gets no
// negative credit (Ins is clamped to 0, not pushed below it).
import { describe, expect, it } from 'vitest';

import { createImage } from '../../src/world/image.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';
import { artifacts, changeRegions, scoreEdit } from '../../src/world/score.js';

describe('scorer edges', () => {
  it('artifacts: the target must have the output size, in width and in height', () => {
    expect(() => artifacts(createImage(4, 4), createImage(3, 4))).toThrow('artifacts: target is 3x4, output 4x4');
    expect(() => artifacts(createImage(4, 4), createImage(4, 3))).toThrow('artifacts: target is 4x3, output 4x4');
    expect(artifacts(createImage(4, 4), createImage(4, 4))).toEqual({ noise: 1, smear: 1 });
  });

  it('artifacts: a single pixel has no neighbours and no edges: clean', () => {
    const one = createImage(1, 1);
    one.data.set([200, 10, 30]);
    expect(artifacts(one, createImage(1, 1))).toEqual({ noise: 1, smear: 1 });
  });

  it('an output farther from the target than the source gets credit 0 per op, never below', () => {
    for (const seed of [1, 2, 3]) {
      const e = generateEdit('color_alter', seed).edit;
      const out = renderScene(e.source).image;
      const { required, target } = changeRegions(e.source, e.target, out.width, out.height);
      const T = target.image.data;
      // required pixels painted the colour farthest from the target's, channel by channel
      let farther = 0;
      for (let p = 0; p < required.length; p++) {
        if (!required[p]) continue;
        for (let c = 0; c < 3; c++) out.data[p * 3 + c] = T[p * 3 + c] < 128 ? 255 : 0;
        farther++;
      }
      expect(farther).toBeGreaterThan(0);
      const s = scoreEdit(out, e.source, e.target);
      for (const op of s.ops) expect(op.credit, e.instruction).toBeGreaterThanOrEqual(0);
      expect(s.ins, e.instruction).toBe(0);
    }
  });
});
