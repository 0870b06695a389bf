// Losses (kernels/loss).
//   crossEntropy: fused softmax CE over the given rows; per-row losses, dlogits = (softmax - onehot) *
//     gradScale; target -1 = ignored row (loss 0, zero gradient). Native errors: a target outside
//     [-1, V) -> E_ARG naming the row; a non-finite logit in a used row -> E_NAN naming the row.
//   mseForward / mseBackward: per-token mean square over channels, averaged over tokens with
//     mask > 0 (DESIGN.md section 3); no masked token -> loss 0 and a zero gradient.
import type { Tensor } from '../native/tensor.js';
import { defineOp } from './registry.js';
import { numberArg, numelArg, rankArg, sameDevice, shapeArg, tensorArg } from './validate.js';

/** losses[M] and dlogits[M, V] for logits[M, V] and targets[M] (i32, -1 = ignore). */
export const crossEntropy = defineOp(
  'cross_entropy',
  (logits: Tensor, targets: Tensor, losses: Tensor, dlogits: Tensor, gradScale: number = 1) => {
    const op = 'cross_entropy';
    tensorArg(op, 'logits', logits);
    tensorArg(op, 'targets', targets, 'i32');
    tensorArg(op, 'losses', losses);
    tensorArg(op, 'dlogits', dlogits);
    rankArg(op, 'logits', logits, 2);
    if (logits.shape[1] === 0) shapeArg(op, 'logits', logits, [null, 1]);
    numelArg(op, 'targets', targets, logits.shape[0], "the rows of 'logits'");
    numelArg(op, 'losses', losses, logits.shape[0], "the rows of 'logits'");
    shapeArg(op, 'dlogits', dlogits, logits.shape);
    sameDevice(op, { logits, targets, losses, dlogits });
    numberArg(op, 'gradScale', gradScale);
    return { tensors: [logits, targets, losses, dlogits], floats: [gradScale] };
  },
);

function mseArgs(op: string, pred: Tensor, target: Tensor, mask: Tensor): void {
  tensorArg(op, 'pred', pred);
  tensorArg(op, 'target', target);
  tensorArg(op, 'mask', mask);
  rankArg(op, 'pred', pred, 2);
  if (pred.shape[1] === 0) shapeArg(op, 'pred', pred, [null, 1]);
  shapeArg(op, 'target', target, pred.shape);
  numelArg(op, 'mask', mask, pred.shape[0], "the rows of 'pred'");
}

/** loss[1] = mean over tokens with mask > 0 of mean over channels of (pred - target)^2 */
export const mseForward = defineOp('mse_forward', (pred: Tensor, target: Tensor, mask: Tensor, loss: Tensor) => {
  const op = 'mse_forward';
  mseArgs(op, pred, target, mask);
  tensorArg(op, 'loss', loss);
  numelArg(op, 'loss', loss, 1);
  sameDevice(op, { pred, target, mask, loss });
  return { tensors: [pred, target, mask, loss] };
});

/** dpred = gradScale * d(loss)/d(pred) (overwritten; zero on unmasked tokens) */
export const mseBackward = defineOp(
  'mse_backward',
  (pred: Tensor, target: Tensor, mask: Tensor, dpred: Tensor, gradScale: number = 1) => {
    const op = 'mse_backward';
    mseArgs(op, pred, target, mask);
    tensorArg(op, 'dpred', dpred);
    shapeArg(op, 'dpred', dpred, pred.shape);
    sameDevice(op, { pred, target, mask, dpred });
    numberArg(op, 'gradScale', gradScale);
    return { tensors: [pred, target, mask, dpred], floats: [gradScale] };
  },
);
