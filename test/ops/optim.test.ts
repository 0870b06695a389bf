import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { adamw, type AdamWSlot } from '../../src/ops/optim.js';
import { runCall } from '../../src/ops/registry.js';
import { Scope, expectClose, forEachSimd, poisoned, randArray, tensor, withThreads } from '../helpers.js';
import { adamwRef, type AdamWRefHyper, type AdamWRefSlot } from '../ref/optim.js';

const scope = new Scope();
afterEach(() => scope.dispose());

// 1 element, 129, 37x129, and 70001 (crosses the kernel's 32768-element chunks, odd tail)
const SHAPES = [[1], [129], [37, 129], [70001]];
const DECAY = [true, false, true, false];

interface Setup {
  slots: AdamWSlot[];
  ref: AdamWRefSlot[];
  gnorm: Tensor;
}

function setup(seed: number): Setup {
  const slots: AdamWSlot[] = [];
  const ref: AdamWRefSlot[] = [];
  SHAPES.forEach((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = randArray(n, seed + 10 * i);
    ref.push({ p, g: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n), decay: DECAY[i] });
    slots.push({
      p: scope.track(tensor(p, shape)),
      g: scope.track(Tensor.zeros(shape)),
      m: scope.track(Tensor.zeros(shape)),
      v: scope.track(Tensor.zeros(shape)),
      decay: DECAY[i],
    });
  });
  return { slots, ref, gnorm: scope.track(poisoned([1])) };
}

/** new gradients for step `step`: the same float32 values in both */
function setGrads(s: Setup, step: number, scale: number): void {
  s.slots.forEach((slot, i) => {
    const g = randArray(slot.p.numel, 1000 * step + i, scale);
    s.ref[i].g = g;
    slot.g.upload(Float32Array.from(g));
  });
}

function compare(s: Setup, name: string, atol = 2e-6): void {
  s.slots.forEach((slot, i) => {
    expectClose(slot.p.toFloat32Array(), s.ref[i].p, { atol, rtol: 1e-5, name: `${name} p_${i}` });
    expectClose(slot.m.toFloat32Array(), s.ref[i].m, { atol: 1e-7, rtol: 1e-5, name: `${name} m_${i}` });
    expectClose(slot.v.toFloat32Array(), s.ref[i].v, { atol: 1e-9, rtol: 1e-4, name: `${name} v_${i}` });
  });
}

describe('adamw vs float64 reference (PyTorch AdamW + clip_grad_norm_)', () => {
  const cases: { name: string; h: AdamWRefHyper; scale: number }[] = [
    // clipping active (global norm ~ 0.58*sqrt(75k) ~ 160 >> 1)
    { name: 'clipped', h: { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 }, scale: 1 },
    // clip threshold above the norm: no clipping
    { name: 'under the clip', h: { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1e4 }, scale: 1 },
    // clipping off, tiny gradients (eps matters)
    { name: 'no clip, tiny grads', h: { lr: 1e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.5, maxGradNorm: 0 }, scale: 1e-6 },
  ];
  for (const c of cases)
    it(`${c.name}: 5 steps of p, m, v and the global norm, every SIMD path`, () => {
      forEachSimd((level) => {
        const s = setup(1);
        for (let step = 1; step <= 5; step++) {
          setGrads(s, step, c.scale);
          const norm = adamwRef(s.ref, step, c.h);
          adamw(s.slots, s.gnorm, step, c.h);
          expectClose(s.gnorm.toFloat32Array(), [norm], { atol: 0, rtol: 1e-6, name: `${level} ${c.name} gnorm step ${step}` });
          compare(s, `${level} ${c.name} step ${step}`);
        }
      });
    });

  it('decay flags: a zero gradient moves only decayed params, by exactly lr*wd*p', () => {
    const s = setup(2);
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, maxGradNorm: 1 };
    const before = s.slots.map((x) => x.p.toFloat32Array());
    adamw(s.slots, s.gnorm, 1, h);
    expect(s.gnorm.toFloat32Array()[0]).toBe(0);
    s.slots.forEach((slot, i) => {
      const want = before[i].map((v) => (DECAY[i] ? v * (1 - 0.05) : v));
      expectClose(slot.p.toFloat32Array(), want, { atol: 1e-7, rtol: 1e-6, name: `decay p_${i}` });
    });
  });

  it('the global norm is bitwise identical for 1 and all threads; async twin matches', async () => {
    const h = { lr: 1e-3, maxGradNorm: 1 };
    const norms: number[] = [];
    for (const th of [1, 2]) {
      const s = setup(3);
      setGrads(s, 1, 1);
      withThreads(th, () => adamw(s.slots, s.gnorm, 1, h));
      norms.push(s.gnorm.toFloat32Array()[0]);
    }
    const s = setup(3);
    setGrads(s, 1, 1);
    await adamw.async(s.slots, s.gnorm, 1, h);
    norms.push(s.gnorm.toFloat32Array()[0]);
    expect(new Set(norms).size).toBe(1);
  });
});

describe('adamw errors', () => {
  it('a NaN or Inf gradient: E_NAN naming the tensor, params and moments untouched, every SIMD path', () => {
    forEachSimd((level) => {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
        const s = setup(4);
        const h = { lr: 1e-2, weightDecay: 0.1, maxGradNorm: 1 };
        setGrads(s, 1, 1);
        adamw(s.slots, s.gnorm, 1, h); // one good step: non-zero moments
        setGrads(s, 2, 1);
        const g = s.slots[2].g.toFloat32Array();
        g[4000] = bad;
        s.slots[2].g.upload(g);
        const snap = s.slots.map((x) => [x.p, x.m, x.v].map((t) => Array.from(t.toFloat32Array())));
        let err: (Error & { code?: string }) | undefined;
        try {
          adamw(s.slots, s.gnorm, 2, h);
        } catch (e) {
          err = e as Error & { code?: string };
        }
        expect(err?.code, level).toBe('E_NAN');
        expect(err?.message, level).toMatch(/^adamw: argument 'g_2' expected finite gradients, received a non-finite value \(global grad norm (nan|inf)\); parameters and moments were left unchanged$/);
        s.slots.forEach((x, i) => expect([x.p, x.m, x.v].map((t) => Array.from(t.toFloat32Array())), `${level} slot ${i}`).toEqual(snap[i]));
        expect(Number.isFinite(s.gnorm.toFloat32Array()[0])).toBe(false); // the bad norm is reported
      }
    });
  });

  it('bad arguments name op, argument, expected and received', () => {
    const s = setup(5);
    const h = { lr: 1e-3 };
    const wrong = scope.track(Tensor.zeros([128]));
    expect(() => adamw([{ ...s.slots[1], m: wrong }], s.gnorm, 1, h)).toThrow("adamw: argument 'm_0' expected shape [129], received shape [128]");
    expect(() => adamw([s.slots[0], { ...s.slots[1], g: scope.track(Tensor.zeros([129], { dtype: 'i32' })) }], s.gnorm, 1, h)).toThrow(
      "adamw: argument 'g_1' expected dtype f32, received i32 [129]",
    );
    expect(() => adamw(s.slots, s.gnorm, 0, h)).toThrow("adamw: argument 'step' expected an integer >= 1, received 0");
    expect(() => adamw(s.slots, s.gnorm, 1.5, h)).toThrow("adamw: argument 'step' expected an integer >= 1, received 1.5");
    expect(() => adamw(s.slots, s.gnorm, 1, { lr: 1e-3, beta1: 1 })).toThrow("adamw: argument 'beta1' expected a finite number >= 0 and < 1, received 1");
    expect(() => adamw(s.slots, s.gnorm, 1, { lr: Number.NaN })).toThrow("adamw: argument 'lr' expected a finite number >= 0, received NaN");
    expect(() => adamw(s.slots, s.gnorm, 1, { lr: 1e-3, eps: 0 })).toThrow("adamw: argument 'eps' expected a finite number > 0, received 0");
    expect(() => adamw([], s.gnorm, 1, h)).toThrow("adamw: argument 'slots' expected a non-empty array of { p, g, m, v, decay }, received []");
    expect(() => adamw([{ ...s.slots[0], decay: 1 as never }], s.gnorm, 1, h)).toThrow("adamw: argument 'decay_0' expected a boolean, received 1");
    expect(() => adamw(s.slots, scope.track(Tensor.zeros([2])), 1, h)).toThrow("adamw: argument 'gnorm' expected 1 elements, received shape [2]");
    // one buffer updated twice, or a gradient that is also updated
    expect(() => adamw([s.slots[0], s.slots[0]], s.gnorm, 1, h)).toThrow("adamw: argument 'p_1' expected a buffer no other slot argument uses");
    expect(() => adamw([{ ...s.slots[1], v: s.slots[1].m }], s.gnorm, 1, h)).toThrow("adamw: argument 'v_0' expected a buffer no other slot argument uses");
    expect(() => adamw([{ ...s.slots[1], g: s.slots[1].p }], s.gnorm, 1, h)).toThrow("adamw: argument 'p_0' expected a buffer no other slot argument uses");
  });

  it('the native adapter re-checks counts and values', () => {
    const s = setup(6);
    const t = s.slots[1];
    const hp = [1e-3, 0.9, 0.999, 1e-8, 0, 0];
    const call = (ints: number[], floats = hp) => () => runCall('adamw', { tensors: [t.p, t.g, t.m, t.v, s.gnorm], ints, floats });
    expect(call([1, 0, 1])).toThrow("adamw: argument 'step' expected a 1-based step >= 1, received 0");
    expect(call([2, 1, 1, 1])).toThrow('adamw: expected 9 tensors, 4 ints, 6 floats; received 5, 4, 6');
    expect(call([1, 1, 2])).toThrow("adamw: argument 'decay_0' expected 0 or 1, received 2");
    expect(call([1, 1, 1], [1e-3, 1, 0.999, 1e-8, 0, 0])).toThrow("adamw: argument 'beta1' expected a value in [0, 1)");
  });
});
