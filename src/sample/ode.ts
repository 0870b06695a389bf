// The rectified-flow sampler's schedule and guidance rule (DESIGN.md section 3), apart from any model
// (the batched sampler, batch.ts, runs the steps with flow_step and the guidance with cfg_combine):
//   schedule  t_i = shift(1 - i / (N - 1)), i = 0..N-1: from 1 (noise) to 0 (image)
//   guidance  three velocity fields — full (every condition), noText (images only), noImage
//             (instruction and CoT only) — combined by the two-scale CFG with renormalisation while t
//             is inside the CFG interval; the full field alone outside.
import { shiftTimestep } from '../data/flow.js';
import type { CfgRenorm } from '../ops/sampler.js';

/** The shifted ODE schedule: linspace(1, 0, steps) mapped by s*t / (1 + (s-1) t). */
export function odeSchedule(steps: number, shift: number): number[] {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`odeSchedule: argument 'steps' expected an integer >= 2, received ${steps}`);
  return Array.from({ length: steps }, (_, i) => shiftTimestep(1 - i / (steps - 1), shift));
}

export interface Guidance {
  cfgText: number;
  cfgImg: number;
  /** CFG applies when t is inside [lo, hi] */
  cfgInterval: readonly [number, number];
  renorm: CfgRenorm;
  renormMin: number;
}

/** Whether guidance changes anything at time t: t inside the interval and a scale away from 1. */
export function guidanceActive(g: Guidance, t: number): boolean {
  return t >= g.cfgInterval[0] && t <= g.cfgInterval[1] && (g.cfgText !== 1 || g.cfgImg > 1);
}
