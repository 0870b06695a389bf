// The rectified-flow ODE sampler's pieces (DESIGN.md section 3), apart from any model:
//   schedule  t_i = shift(1 - i / (N - 1)), i = 0..N-1: from 1 (noise) to 0 (image)
//   Euler     x <- x + (t_{i+1} - t_i) * v(x, t_i)   (dt < 0: x moves against v, towards the data)
//   guidance  three velocity fields — full (every condition), noText (images only), noImage
//             (instruction and CoT only) — combined by the two-scale CFG with renormalisation
//             (the native cfg_combine) while t is inside the CFG interval; the full field alone outside.
import { shiftTimestep } from '../data/flow.js';
import { Tensor } from '../native/tensor.js';
import { type CfgRenorm, cfgCombine } from '../ops/sampler.js';

/** A velocity field: v(x, t) at step `step` of the schedule, as many floats as x. */
export type VelocityField = (x: Float32Array, t: number, step: number) => Promise<Float32Array>;

/** The shifted ODE schedule: linspace(1, 0, steps) mapped by s*t / (1 + (s-1) t). */
export function odeSchedule(steps: number, shift: number): number[] {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`odeSchedule: argument 'steps' expected an integer >= 2, received ${steps}`);
  return Array.from({ length: steps }, (_, i) => shiftTimestep(1 - i / (steps - 1), shift));
}

/** Integrates x from ts[0] to ts[ts.length - 1] with Euler steps, in place; returns x. */
export async function eulerSolve(x: Float32Array, ts: readonly number[], field: VelocityField): Promise<Float32Array> {
  for (let i = 0; i + 1 < ts.length; i++) {
    const v = await field(x, ts[i], i);
    if (v.length !== x.length) throw new RangeError(`eulerSolve: the velocity field gave ${v.length} floats at step ${i}, expected ${x.length} (like x)`);
    const dt = ts[i + 1] - ts[i];
    for (let j = 0; j < x.length; j++) x[j] += dt * v[j];
  }
  return x;
}

export interface Guidance {
  cfgText: number;
  cfgImg: number;
  /** CFG applies when t is inside [lo, hi] */
  cfgInterval: readonly [number, number];
  renorm: CfgRenorm;
  renormMin: number;
}

export interface ContextFields {
  full: VelocityField;
  noText: VelocityField;
  noImage: VelocityField;
}

/** Whether guidance changes anything at time t: t inside the interval and a scale away from 1. */
export function guidanceActive(g: Guidance, t: number): boolean {
  return t >= g.cfgInterval[0] && t <= g.cfgInterval[1] && (g.cfgText !== 1 || g.cfgImg > 1);
}

/**
 * The guided field over `tokens` x `channels` latents: the full context's velocity, CFG-combined
 * with the no-text and no-image contexts' where guidance is active. Holds three host tensors for
 * the native combine: dispose it (or `using`) when the sampling is done.
 */
export class GuidedField implements Disposable {
  private readonly t: { v: Tensor; vt: Tensor; vi: Tensor; out: Tensor };
  readonly field: VelocityField;

  constructor(contexts: ContextFields, readonly guidance: Guidance, tokens: number, channels: number) {
    const z = () => Tensor.zeros([tokens, channels], { device: 'cpu' });
    this.t = { v: z(), vt: z(), vi: z(), out: z() };
    this.field = async (x, t, step) => {
      const v = await contexts.full(x, t, step);
      if (!guidanceActive(this.guidance, t)) return v;
      const vt = await contexts.noText(x, t, step);
      const vi = await contexts.noImage(x, t, step);
      this.t.v.upload(v);
      this.t.vt.upload(vt);
      this.t.vi.upload(vi);
      const g = this.guidance;
      cfgCombine(this.t.v, this.t.vt, this.t.vi, this.t.out, g.cfgText, g.cfgImg, g.renorm, g.renormMin);
      return this.t.out.toFloat32Array();
    };
  }

  dispose(): void {
    for (const t of Object.values(this.t)) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
