// RMSNorm (kernels/rmsnorm): y = x * rsqrt(mean(x^2) + eps) * w over the last dimension. Row norm
// (x[N, D], w[D]) and per-head q/k norm (x[N, H, hd], w[hd]) are the same op: rows = numel(x) / D.
import { argError } from '../native/errors.js';
import { shapeString, type Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { boolArg, numberArg, numelArg, rankArg, sameDevice, shapeArg, tensorArg } from './validate.js';

/** w must be 1-D [D] and x's last dimension must be D; returns the row count R. */
function rowsOf(op: string, x: Tensor, w: Tensor): number {
  rankArg(op, 'w', w, 1);
  if (w.numel === 0) throw argError(op, 'w', 'at least 1 element', `shape ${shapeString(w.shape)}`, 'E_SHAPE');
  const D = w.numel;
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== D)
    throw argError(op, 'x', `a last dimension of ${D} (like 'w')`, `shape ${shapeString(x.shape)}`, 'E_SHAPE');
  return x.numel / D;
}

/** y = rmsnorm(x) * w; rstd[R] (1/rms per row) is saved for the backward. y may be x. */
export const rmsnormForward = defineOp('rmsnorm_forward', (x: Tensor, w: Tensor, y: Tensor, rstd: Tensor, eps: number = 1e-6) => {
  const op = 'rmsnorm_forward';
  tensorArg(op, 'x', x);
  tensorArg(op, 'w', w);
  tensorArg(op, 'y', y);
  tensorArg(op, 'rstd', rstd);
  const R = rowsOf(op, x, w);
  shapeArg(op, 'y', y, x.shape);
  numelArg(op, 'rstd', rstd, R, 'the rows of x');
  sameDevice(op, { x, w, y, rstd });
  numberArg(op, 'eps', eps, { min: 0 });
  return { tensors: [x, w, y, rstd], floats: [eps] };
});

/** dx = d/dx, dw (+)= d/dw (accumulateDw adds onto dw's content, e.g. across per-head calls). */
export const rmsnormBackward = defineOp(
  'rmsnorm_backward',
  (x: Tensor, w: Tensor, rstd: Tensor, dy: Tensor, dx: Tensor, dw: Tensor, accumulateDw: boolean = false) => {
    const op = 'rmsnorm_backward';
    tensorArg(op, 'x', x);
    tensorArg(op, 'w', w);
    tensorArg(op, 'rstd', rstd);
    tensorArg(op, 'dy', dy);
    tensorArg(op, 'dx', dx);
    tensorArg(op, 'dw', dw);
    const R = rowsOf(op, x, w);
    numelArg(op, 'rstd', rstd, R, 'the rows of x');
    shapeArg(op, 'dy', dy, x.shape);
    shapeArg(op, 'dx', dx, x.shape);
    shapeArg(op, 'dw', dw, w.shape);
    sameDevice(op, { x, w, rstd, dy, dx, dw });
    boolArg(op, 'accumulateDw', accumulateDw);
    return { tensors: [x, w, rstd, dy, dx, dw], ints: [accumulateDw ? 1 : 0] };
  },
);
