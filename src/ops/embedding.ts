// Token embedding (kernels/embedding): gather forward, deterministic scatter-add backward.
// Id values are checked natively (reading them here would copy the buffer): an id outside [0, V)
// throws E_ARG naming its position and value, before anything is written.
import type { Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { rankArg, sameDevice, shapeArg, tensorArg } from './validate.js';

/** out[n, :] = table[ids[n], :]  (ids[N] i32, table[V, D], out[N, D]) */
export const embeddingForward = defineOp('embedding_forward', (ids: Tensor, table: Tensor, out: Tensor) => {
  const op = 'embedding_forward';
  tensorArg(op, 'ids', ids, 'i32');
  tensorArg(op, 'table', table);
  tensorArg(op, 'out', out);
  rankArg(op, 'ids', ids, 1);
  rankArg(op, 'table', table, 2);
  shapeArg(op, 'out', out, [ids.numel, table.shape[1]]);
  sameDevice(op, { ids, table, out });
  return { tensors: [ids, table, out] };
});

/** dtable[ids[n], :] += dout[n, :] (always accumulates; zero dtable first for a fresh gradient) */
export const embeddingBackward = defineOp('embedding_backward', (ids: Tensor, dout: Tensor, dtable: Tensor) => {
  const op = 'embedding_backward';
  tensorArg(op, 'ids', ids, 'i32');
  tensorArg(op, 'dout', dout);
  tensorArg(op, 'dtable', dtable);
  rankArg(op, 'ids', ids, 1);
  rankArg(op, 'dtable', dtable, 2);
  shapeArg(op, 'dout', dout, [ids.numel, dtable.shape[1]]);
  sameDevice(op, { ids, dout, dtable });
  return { tensors: [ids, dout, dtable] };
});
