// Packed MoT batches for the benchmarks: the shared random-content builder (src/model/synthetic-batch.ts)
// plus seeded normal weights.
import { mulberry32 } from '../../src/model/synthetic-batch.js';

export { buildBatch, editSample, mulberry32 as rng, type SegSpec as BenchSeg } from '../../src/model/synthetic-batch.js';

/** n seeded normal(0, std) floats (Box-Muller) */
export function randn(n: number, seed: number, std = 1, mean = 0): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())) * std;
    const th = 2 * Math.PI * u();
    out[i] = mean + r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(th);
  }
  return out;
}

