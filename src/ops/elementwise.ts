// Elementwise ops (kernels/elementwise, kernels/random): the pattern every op wrapper follows —
// validate each argument in TypeScript, then hand plain tensors/ints/floats to the native table.
import { argError } from '../native/errors.js';
import { shapeString, type Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { numberArg, numelArg, sameDevice, tensorArg, boolArg } from './validate.js';

/** x[:] = value */
export const fill = defineOp('fill', (x: Tensor, value: number) => {
  tensorArg('fill', 'x', x);
  numberArg('fill', 'value', value);
  return { tensors: [x], floats: [value] };
});

/** out = alpha*a + beta*b (out may be a or b) */
export const add = defineOp('add', (a: Tensor, b: Tensor, out: Tensor, alpha: number = 1, beta: number = 1) => {
  const op = 'add';
  tensorArg(op, 'a', a);
  tensorArg(op, 'b', b);
  tensorArg(op, 'out', out);
  numelArg(op, 'b', b, a.numel, "'a'");
  numelArg(op, 'out', out, a.numel, "'a'");
  sameDevice(op, { a, b, out });
  numberArg(op, 'alpha', alpha);
  numberArg(op, 'beta', beta);
  return { tensors: [a, b, out], floats: [alpha, beta] };
});

/** x ~ N(mean, std^2), Philox counter-based: element j depends only on (seed, stream, j). */
export const randn = defineOp('randn', (x: Tensor, seed: number, stream: number = 0, mean: number = 0, std: number = 1) => {
  const op = 'randn';
  tensorArg(op, 'x', x);
  numberArg(op, 'seed', seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  numberArg(op, 'stream', stream, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  numberArg(op, 'mean', mean);
  numberArg(op, 'std', std, { min: 0 });
  return { tensors: [x], ints: [seed, stream], floats: [mean, std] };
});

/** y = x * sigmoid(x) */
export const siluForward = defineOp('silu_forward', (x: Tensor, y: Tensor) => {
  const op = 'silu_forward';
  tensorArg(op, 'x', x);
  tensorArg(op, 'y', y);
  numelArg(op, 'y', y, x.numel, "'x'");
  sameDevice(op, { x, y });
  return { tensors: [x, y] };
});

/** dx (+)= dy * silu'(x) */
export const siluBackward = defineOp('silu_backward', (x: Tensor, dy: Tensor, dx: Tensor, accumulate: boolean = false) => {
  const op = 'silu_backward';
  tensorArg(op, 'x', x);
  tensorArg(op, 'dy', dy);
  tensorArg(op, 'dx', dx);
  numelArg(op, 'dy', dy, x.numel, "'x'");
  numelArg(op, 'dx', dx, x.numel, "'x'");
  sameDevice(op, { x, dy, dx });
  boolArg(op, 'accumulate', accumulate);
  return { tensors: [x, dy, dx], ints: [accumulate ? 1 : 0] };
});

/** out[n, :] = x[n, :] + b  (x viewed as [numel / b.numel, b.numel]: any shape with a multiple of b.numel elements) */
export const biasAdd = defineOp('bias_add', (x: Tensor, b: Tensor, out: Tensor) => {
  const op = 'bias_add';
  tensorArg(op, 'x', x);
  tensorArg(op, 'b', b);
  tensorArg(op, 'out', out);
  if (b.numel === 0 || x.numel % b.numel !== 0) throw argError(op, 'x', `a multiple of ${b.numel} elements (rows of 'b')`, `shape ${shapeString(x.shape)}`, 'E_SHAPE');
  numelArg(op, 'out', out, x.numel, "'x'");
  sameDevice(op, { x, b, out });
  return { tensors: [x, b, out] };
});

/** db (+)= sum over rows of dy (dy viewed as [numel / db.numel, db.numel]) */
export const biasGrad = defineOp('bias_grad', (dy: Tensor, db: Tensor, accumulate: boolean = false) => {
  const op = 'bias_grad';
  tensorArg(op, 'dy', dy);
  tensorArg(op, 'db', db);
  if (db.numel === 0 || dy.numel % db.numel !== 0) throw argError(op, 'dy', `a multiple of ${db.numel} elements (rows of 'db')`, `shape ${shapeString(dy.shape)}`, 'E_SHAPE');
  sameDevice(op, { dy, db });
  boolArg(op, 'accumulate', accumulate);
  return { tensors: [dy, db], ints: [accumulate ? 1 : 0] };
});
