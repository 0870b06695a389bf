// SwiGLU (kernels/swiglu): h = silu(gate) * up, elementwise over [N, F].
import type { Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { sameDevice, shapeArg, tensorArg } from './validate.js';

/** h = silu(gate) * up */
export const swigluForward = defineOp('swiglu_forward', (gate: Tensor, up: Tensor, h: Tensor) => {
  const op = 'swiglu_forward';
  tensorArg(op, 'gate', gate);
  tensorArg(op, 'up', up);
  tensorArg(op, 'h', h);
  shapeArg(op, 'up', up, gate.shape);
  shapeArg(op, 'h', h, gate.shape);
  sameDevice(op, { gate, up, h });
  return { tensors: [gate, up, h] };
});

/** dgate = dh * up * silu'(gate), dup = dh * silu(gate) (both overwritten) */
export const swigluBackward = defineOp('swiglu_backward', (gate: Tensor, up: Tensor, dh: Tensor, dgate: Tensor, dup: Tensor) => {
  const op = 'swiglu_backward';
  tensorArg(op, 'gate', gate);
  tensorArg(op, 'up', up);
  tensorArg(op, 'dh', dh);
  tensorArg(op, 'dgate', dgate);
  tensorArg(op, 'dup', dup);
  for (const [name, t] of [['up', up], ['dh', dh], ['dgate', dgate], ['dup', dup]] as const) shapeArg(op, name, t, gate.shape);
  sameDevice(op, { gate, up, dh, dgate, dup });
  return { tensors: [gate, up, dh, dgate, dup] };
});
