// Rectified flow for training (DESIGN.md section 3): t = sigmoid(randn) (logit-normal), shifted by
// s*t / (1 + (s-1)*t); x_t = (1-t) x0 + t eps (t = 1 is pure noise); the target velocity is
// v = eps - x0. All randomness from the world's seeded Rng.

import type { Rng } from '../world/rng.js';

export function shiftTimestep(t: number, shift: number): number {
  if (!(shift > 0)) throw new RangeError(`shiftTimestep: shift must be positive, got ${shift}`);
  return (shift * t) / (1 + (shift - 1) * t);
}

/** A training timestep in (0, 1): logit-normal, then shifted. */
export function sampleTimestep(rng: Rng, shift = 1): number {
  const t = 1 / (1 + Math.exp(-rng.gaussian()));
  return shiftTimestep(t, shift);
}

export interface Noised {
  /** x_t = (1 - t) x0 + t eps */
  xt: Float32Array;
  /** the velocity target eps - x0 */
  v: Float32Array;
}

/** Noises clean latents at time t with fresh Gaussian noise. */
export function noiseLatents(x0: Float32Array, t: number, rng: Rng): Noised {
  if (!(t >= 0 && t <= 1)) throw new RangeError(`noiseLatents: t must be in [0, 1], got ${t}`);
  const xt = new Float32Array(x0.length);
  const v = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const eps = rng.gaussian();
    xt[i] = (1 - t) * x0[i] + t * eps;
    v[i] = eps - x0[i];
  }
  return { xt, v };
}
