// Sinusoidal timestep embedding (kernels/timestep): out[n] = [cos(t f_k), sin(t f_k)], k < dim/2,
// f_k = exp(-ln(maxPeriod) * k / (dim/2)). BAGEL: dim 256, maxPeriod 10000, t in [0, 1].
import { argError } from '../native/errors.js';
import { shapeString, type Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { numberArg, rankArg, sameDevice, tensorArg } from './validate.js';

/** t[N] -> out[N, dim] (dim even) */
export const timestepEmbedding = defineOp('timestep_embedding', (t: Tensor, out: Tensor, maxPeriod: number = 10000) => {
  const op = 'timestep_embedding';
  tensorArg(op, 't', t);
  tensorArg(op, 'out', out);
  rankArg(op, 't', t, 1);
  rankArg(op, 'out', out, 2);
  if (out.shape[0] !== t.numel || out.shape[1] < 2 || out.shape[1] % 2 !== 0)
    throw argError(op, 'out', `shape [${t.numel}, dim] with an even dim >= 2`, `shape ${shapeString(out.shape)}`, 'E_SHAPE');
  sameDevice(op, { t, out });
  numberArg(op, 'maxPeriod', maxPeriod, { min: 1, exclusiveMin: true });
  return { tensors: [t, out], floats: [maxPeriod] };
});
