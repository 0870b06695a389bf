// RoPE (kernels/rope), Qwen2 rotate-half form: dim i pairs with i + hd/2, inv_freq_i = theta^(-2i/hd),
// angle = pos[n] * inv_freq_i (positions per token, int32). Angles are computed in double natively.
import { argError } from '../native/errors.js';
import { shapeString, type Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { numberArg, numelArg, rankArg, sameDevice, shapeArg, tensorArg } from './validate.js';

function ropeArgs(op: string, xName: string, yName: string, x: Tensor, pos: Tensor, y: Tensor, theta: number) {
  tensorArg(op, xName, x);
  tensorArg(op, 'pos', pos, 'i32');
  tensorArg(op, yName, y);
  rankArg(op, xName, x, 3);
  const hd = x.shape[2];
  if (hd === 0 || hd % 2 !== 0)
    throw argError(op, xName, 'shape [N, H, head_dim] with an even head_dim', `shape ${shapeString(x.shape)}`, 'E_SHAPE');
  numelArg(op, 'pos', pos, x.shape[0], `the N of ${xName}`);
  shapeArg(op, yName, y, x.shape);
  sameDevice(op, { [xName]: x, pos, [yName]: y });
  numberArg(op, 'theta', theta, { min: 0, exclusiveMin: true });
  return { tensors: [x, pos, y], floats: [theta] };
}

/** y = rope(x) for x[N, H, hd]; y may be x (in place). */
export const ropeForward = defineOp('rope_forward', (x: Tensor, pos: Tensor, y: Tensor, theta: number) =>
  ropeArgs('rope_forward', 'x', 'y', x, pos, y, theta),
);

/** dx = rope^-1(dy) (the inverse rotation); dx may be dy (in place). */
export const ropeBackward = defineOp('rope_backward', (dy: Tensor, pos: Tensor, dx: Tensor, theta: number) =>
  ropeArgs('rope_backward', 'dy', 'dx', dy, pos, dx, theta),
);
