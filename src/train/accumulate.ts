// One optimizer step's gradients over k micro-batches (gradient accumulation).
//
// The step's loss is the loss of the k micro-batches taken together, as if they were one batch:
//   L = wCe * CE + wMse * MSE,  CE = (sum of the CE terms of every CE row) / (CE rows of all k),
//                               MSE = (sum of the per-token MSE of every noisy row) / (noisy rows of all k).
// The model computes each micro-batch's per-token means (CE over its own rows, MSE over its own
// noisy tokens), so micro-batch i runs with the weights wCe * nCe_i / NCe and wMse * nMse_i / NMse:
// its gradient is its share of L's, and the gradients summed over the k micro-batches are exactly L's.
// (Weighting every micro-batch by 1/k instead would be right only when all k hold the same number of
// loss rows.) The counts come from the host batches before any forward runs.
import type { HostBatch } from '../model/batch.js';
import type { MotModel } from '../model/model.js';
import { trainStepFlops } from './flops.js';
import type { TrainBatch } from './sft.js';

/** A non-finite loss or gradient: the trainer stops and keeps its last good checkpoint. */
export class NonFiniteError extends Error {}

export interface LossWeights {
  wCe: number;
  wMse: number;
}

export interface StepLoss {
  /** wCe * ce + wMse * mse */
  loss: number;
  /** CE per CE row over the whole step */
  ce: number;
  /** MSE per noisy row over the whole step */
  mse: number;
  samples: number;
  tokens: number;
  flops: number;
}

/** Loss rows of a batch: CE rows (a next-token target >= 0) and MSE rows (noisy tokens with mask > 0). */
export function lossCounts(b: HostBatch): { ce: number; mse: number } {
  let ce = 0;
  let mse = 0;
  if (b.ceTargets) for (const t of b.ceTargets) if (t >= 0) ce++;
  if (b.mseMask) for (const m of b.mseMask) if (m > 0) mse++;
  return { ce, mse };
}

/**
 * Zeroes the model's gradients, then runs forward and backward over every micro-batch, leaving the
 * gradient of the step's loss (above) in `model.grads`. `whileRunning(micro)` is called while
 * micro-batch `micro`'s forward runs on the native workers (the trainer builds the next step's
 * micro-batch there).
 */
export async function accumulateGradients(
  model: MotModel,
  batches: readonly TrainBatch[],
  w: LossWeights,
  opts: { whileRunning?: (micro: number) => void } = {},
): Promise<StepLoss> {
  if (batches.length === 0) throw new RangeError("accumulateGradients: argument 'batches' expected at least one micro-batch, received none");
  const counts = batches.map((b) => lossCounts(b.batch));
  const totalCe = counts.reduce((a, c) => a + c.ce, 0);
  const totalMse = counts.reduce((a, c) => a + c.mse, 0);
  model.zeroGrad();
  let ce = 0;
  let mse = 0;
  let samples = 0;
  let tokens = 0;
  let flops = 0;
  try {
    for (let micro = 0; micro < batches.length; micro++) {
      const tb = batches[micro];
      const shareCe = totalCe > 0 ? counts[micro].ce / totalCe : 0;
      const shareMse = totalMse > 0 ? counts[micro].mse / totalMse : 0;
      const fwd = model.forward(tb.batch, { wCe: w.wCe * shareCe, wMse: w.wMse * shareMse });
      try {
        opts.whileRunning?.(micro);
      } catch (e) {
        // the forward runs on: let it settle before the error leaves, so the model is idle again
        await fwd.catch(() => undefined);
        throw e;
      }
      const r = await fwd;
      if (!Number.isFinite(r.loss)) throw new NonFiniteError(`loss is ${r.loss} (ce ${r.ce}, mse ${r.mse})`);
      await model.backward();
      ce += r.ce * shareCe;
      mse += r.mse * shareMse;
      samples += tb.samples;
      tokens += tb.batch.ids.length;
      flops += trainStepFlops(model.config, tb.shape);
    }
  } catch (e) {
    if (e instanceof NonFiniteError || (e as { code?: string }).code === 'E_NAN') throw new NonFiniteError((e as Error).message);
    throw e;
  }
  return { loss: w.wCe * ce + w.wMse * mse, ce, mse, samples, tokens, flops };
}
