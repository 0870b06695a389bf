// Images as tokens: patchify's layout (patch x patch x 3, channel fastest, tokens row-major),
// exact byte round trips, grid position indices, and the codec a config implies.
import { describe, expect, it } from 'vitest';
import { codecFor, gridPositions, IdentityCodec, patchify, unpatchify } from '../../src/data/codec.js';
import { preset } from '../../src/model/config.js';
import { createImage } from '../../src/world/image.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';

describe('patchify', () => {
  it('lays a 4x4 image out as 2x2 tokens of 2x2x3, channel fastest, scaled to [-1, 1]', () => {
    const img = createImage(4, 4);
    // pixel (x, y) = [x*10, y*10, 255] so every value says where it came from
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) img.data.set([x * 10, y * 10, 255], (y * 4 + x) * 3);
    const t = patchify(img, 2);
    expect([t.rows, t.cols, t.dim]).toEqual([2, 2, 12]);
    const px = (x: number, y: number) => [(x * 10) / 127.5 - 1, (y * 10) / 127.5 - 1, 1];
    // token (row 1, col 0) = pixels (0,2) (1,2) (0,3) (1,3)
    const tok = Array.from(t.data.subarray(2 * 12, 3 * 12));
    const want = [...px(0, 2), ...px(1, 2), ...px(0, 3), ...px(1, 3)];
    tok.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
  });

  it('round-trips rendered pictures byte for byte', () => {
    const { edit } = generateEdit('style_change', 3);
    const img = renderScene(edit.source).image;
    for (const p of [1, 2, 4, 8]) expect(unpatchify(patchify(img, p), p).data).toEqual(img.data);
    const codec = new IdentityCodec(4);
    expect(codec.channels).toBe(48);
    expect(codec.decode(codec.encode(img)).data).toEqual(img.data);
  });

  it('refuses sizes that do not fit, naming them', () => {
    expect(() => patchify(createImage(6, 4), 4)).toThrow(/multiples of the patch 4, got 6x4/);
    expect(() => patchify({ width: 2, height: 2, data: new Uint8Array(5) }, 1)).toThrow(/expected 12 bytes for 2x2 RGB, got 5/);
    expect(() => unpatchify({ rows: 1, cols: 1, dim: 5, data: new Float32Array(5) }, 2)).toThrow(/expected tokens of 12 floats for patch 2, got 5/);
  });
});

describe('positions and codecs', () => {
  it('gridPositions is row * maxSide + col', () => {
    expect(Array.from(gridPositions(2, 3, 4))).toEqual([0, 1, 2, 4, 5, 6]);
    expect(() => gridPositions(5, 1, 4)).toThrow(/5x1 token grid exceeds maxLatentSide 4/);
  });

  it('the tiny preset implies the identity codec; a 16-channel VAE preset needs a real one', () => {
    const tiny = preset('tiny');
    expect(codecFor(tiny)).toMatchObject({ name: 'identity', patch: 4, channels: 48 });
    expect(() => codecFor(preset('qwen2.5-0.5b-mot'))).toThrow(/latentChannels 64 with latentPatch 2 needs a real VAE/);
  });
});
