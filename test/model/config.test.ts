import { describe, expect, it } from 'vitest';

import { PRESETS, paramCount, parseModelConfig, preset } from '../../src/model/config.js';
import { modelLayout } from '../../src/model/model.js';

describe('model config and presets', () => {
  for (const name of Object.keys(PRESETS)) {
    it(`${name}: the parameter-count formula matches the native layout`, () => {
      const c = preset(name);
      const layout = modelLayout(c);
      const sum = layout.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      expect(paramCount(c).total).toBe(sum);
      // every name unique, every shape positive
      expect(new Set(layout.map((s) => s.name)).size).toBe(layout.length);
      expect(layout.every((s) => s.shape.every((d) => d > 0))).toBe(true);
    });
  }

  it('BAGEL-7B-MoT has two Qwen2.5-7B-sized experts (~14B parameters, one Qwen2.5-7B active per token)', () => {
    const p = paramCount(preset('bagel-7b-mot'));
    // Qwen2.5-7B: 7.62B with its untied 152064 x 3584 embeddings and LM head (7.07B without the head)
    expect(p.total).toBeGreaterThan(13.5e9);
    expect(p.total).toBeLessThan(15e9);
    expect(p.activePerToken + p.shared).toBeGreaterThan(7.5e9);
    expect(p.activePerToken + p.shared).toBeLessThan(7.7e9);
    const q = paramCount(preset('qwen2.5-0.5b-mot'));
    // Qwen2.5-0.5B: 494M with tied embeddings
    expect(q.activePerToken + q.shared).toBeGreaterThan(0.48e9);
    expect(q.activePerToken + q.shared).toBeLessThan(0.5e9);
  });

  it('bad configs name the field, what was expected and what came', () => {
    expect(() => parseModelConfig({ ...PRESETS.tiny, headDim: 63 })).toThrow(/'headDim'.*received 63/);
    expect(() => parseModelConfig({ ...PRESETS.tiny, kvHeads: 3 })).toThrow(/'kvHeads' heads must be a multiple of kvHeads/);
    expect(() => parseModelConfig({ ...PRESETS.tiny, bogus: 1 })).toThrow(/bogus/);
    expect(() => preset('huge')).toThrow("model preset: expected one of tiny, small, qwen2.5-0.5b-mot, bagel-7b-mot, received 'huge'");
  });
});
