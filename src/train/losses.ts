// SFT's loss as a client of the model's opened interface (DESIGN.md sections 2-3): the model gives its
// heads (forwardHeads: logits at the CE rows, velocities at the noisy latent rows), this computes
// w_ce * mean CE + w_mse * MSE over them with the loss kernels, and hands the gradients back to
// model.backward({ dlogits, dvel }). It is the same computation as the fused path inside
// MotModel.forward (the same kernels on the same rows), so both give the same losses and gradients;
// other losses (Flow-GRPO's) plug in the same way.
import type { HostBatch } from '../model/batch.js';
import { TokenKind } from '../model/batch.js';
import type { HeadOutputs } from '../model/model.js';
import { Tensor } from '../native/tensor.js';
import { crossEntropy, mseBackward, mseForward } from '../ops/loss.js';

export interface CeMseLoss {
  ce: number;
  mse: number;
  loss: number;
  nCe: number;
  nMse: number;
  /** gradients of `loss` with respect to the heads, on the heads' device (the caller disposes them) */
  dlogits: Tensor;
  dvel: Tensor;
}

/** The CE targets of the CE rows and the velocity targets and mask of the noisy rows, in the heads' row order. */
export function headTargets(batch: HostBatch, channels: number): { ce: Int32Array; mseTarget: Float32Array; mseMask: Float32Array } {
  const ce = Int32Array.from(Array.from(batch.ceTargets ?? []).filter((t) => t >= 0));
  const noisyRows: number[] = [];
  let latent = 0;
  for (let i = 0; i < batch.kind.length; i++) {
    const k = batch.kind[i];
    if (k === TokenKind.cleanLatent || k === TokenKind.noisyLatent) {
      if (k === TokenKind.noisyLatent) noisyRows.push(latent);
      latent++;
    }
  }
  const mseTarget = new Float32Array(noisyRows.length * channels);
  const mseMask = new Float32Array(noisyRows.length);
  noisyRows.forEach((r, j) => {
    if (batch.mseTarget) mseTarget.set(batch.mseTarget.subarray(r * channels, (r + 1) * channels), j * channels);
    mseMask[j] = batch.mseMask ? batch.mseMask[r] : 1;
  });
  return { ce, mseTarget, mseMask };
}

/** w_ce * mean CE over the CE rows + w_mse * MSE over the masked noisy rows, and its head gradients. */
export function ceMseLoss(heads: HeadOutputs, batch: HostBatch, opts: { wCe?: number; wMse?: number } = {}): CeMseLoss {
  const wCe = opts.wCe ?? 1;
  const wMse = opts.wMse ?? 1;
  const device = heads.logits.device;
  const C = heads.velocities.shape[1];
  const tg = headTargets(batch, C);
  if (tg.ce.length !== heads.nCe) throw new RangeError(`ceMseLoss: the batch has ${tg.ce.length} CE rows, the heads ${heads.nCe}`);
  if (tg.mseMask.length !== heads.nNoisy) throw new RangeError(`ceMseLoss: the batch has ${tg.mseMask.length} noisy rows, the heads ${heads.nNoisy}`);
  const dlogits = Tensor.zeros(heads.logits.shape, { device });
  const dvel = Tensor.zeros(heads.velocities.shape, { device });
  let ce = 0;
  let mse = 0;
  if (heads.nCe > 0) {
    using targets = Tensor.from(tg.ce, [heads.nCe], { device });
    using losses = Tensor.zeros([heads.nCe], { device });
    crossEntropy(heads.logits, targets, losses, dlogits, wCe / heads.nCe);
    ce = losses.download().reduce((a, b) => a + b, 0) / heads.nCe;
  }
  const nMse = tg.mseMask.reduce((a, m) => a + (m > 0 ? 1 : 0), 0);
  if (heads.nNoisy > 0) {
    using target = Tensor.from(tg.mseTarget, heads.velocities.shape, { device });
    using mask = Tensor.from(tg.mseMask, [heads.nNoisy], { device });
    using loss = Tensor.zeros([1], { device });
    mseForward(heads.velocities, target, mask, loss);
    mse = loss.download()[0];
    mseBackward(heads.velocities, target, mask, dvel, wMse);
  }
  return { ce, mse, loss: wCe * ce + wMse * mse, nCe: heads.nCe, nMse, dlogits, dvel };
}
