// Packing built samples into sequences: concatenate their tokens, segments (rows [start, end,
// mode, sample], the sample index isolating them in attention), image tensors and loss targets into
// one HostBatch; and split a stream of samples into sequences that fit a token budget.

import type { HostBatch } from '../model/batch.js';
import type { PackedSample } from './sequence.js';

/** One sequence holding all the samples, in order; sample i gets segment sample id i. */
export function packSamples(samples: readonly PackedSample[]): HostBatch {
  if (samples.length === 0) throw new RangeError('packSamples: expected at least one sample, got none');
  const sum = (f: (s: PackedSample) => number) => samples.reduce((a, s) => a + f(s), 0);
  const N = sum((s) => s.length);
  const b: Required<HostBatch> = {
    ids: new Int32Array(N),
    kind: new Int32Array(N),
    expert: new Int32Array(N),
    pos: new Int32Array(N),
    seg: new Int32Array(sum((s) => s.segments.length) * 4),
    vitPatches: new Float32Array(sum((s) => s.vitPatches.length)),
    vitPos: new Int32Array(sum((s) => s.vitPos.length)),
    latents: new Float32Array(sum((s) => s.latents.length)),
    latentPos: new Int32Array(sum((s) => s.latentPos.length)),
    latentT: new Float32Array(sum((s) => s.latentT.length)),
    ceTargets: new Int32Array(N),
    mseTarget: new Float32Array(sum((s) => s.mseTarget.length)),
    mseMask: new Float32Array(sum((s) => s.mseMask.length)),
  };
  const at = { tok: 0, seg: 0, vit: 0, vitPos: 0, lat: 0, latPos: 0 };
  samples.forEach((s, sample) => {
    b.ids.set(s.ids, at.tok);
    b.kind.set(s.kind, at.tok);
    b.expert.set(s.expert, at.tok);
    b.pos.set(s.pos, at.tok);
    b.ceTargets.set(s.ceTargets, at.tok);
    for (const g of s.segments) {
      b.seg.set([at.tok + g.start, at.tok + g.end, g.mode, sample], at.seg);
      at.seg += 4;
    }
    b.vitPatches.set(s.vitPatches, at.vit);
    b.vitPos.set(s.vitPos, at.vitPos);
    b.latents.set(s.latents, at.lat);
    b.mseTarget.set(s.mseTarget, at.lat);
    b.latentPos.set(s.latentPos, at.latPos);
    b.latentT.set(s.latentT, at.latPos);
    b.mseMask.set(s.mseMask, at.latPos);
    at.tok += s.length;
    at.vit += s.vitPatches.length;
    at.vitPos += s.vitPos.length;
    at.lat += s.latents.length;
    at.latPos += s.latentPos.length;
  });
  return b;
}

/**
 * Splits samples, in order, into groups whose total length fits the budget: a group is closed when
 * the next sample would overflow it. Throws when a single sample is longer than the budget.
 */
export function groupByBudget<T extends { length: number }>(samples: readonly T[], budget: number): T[][] {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`groupByBudget: budget must be a positive integer, got ${budget}`);
  const groups: T[][] = [];
  let cur: T[] = [];
  let used = 0;
  samples.forEach((s, i) => {
    if (s.length > budget) throw new RangeError(`groupByBudget: sample ${i} has ${s.length} tokens, more than the budget of ${budget}`);
    if (used + s.length > budget && cur.length > 0) {
      groups.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(s);
    used += s.length;
  });
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/** Packs samples into as many sequences as the budget needs. */
export function packByBudget(samples: readonly PackedSample[], budget: number): HostBatch[] {
  return groupByBudget(samples, budget).map(packSamples);
}
