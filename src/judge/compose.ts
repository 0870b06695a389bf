// Judges composed as a weighted sum (the RL reward may use several): overall = sum_i w_i overall_i,
// sub-scores kept per part as "<kind>.<name>". An item fails when any part fails (the part's failure
// is the item's); a CoT problem any part reports is kept.
import { type Judge, type JudgeIdentity, type JudgeItem, type ScoreOptions, type Verdict } from './types.js';

export interface WeightedPart {
  judge: Judge;
  weight: number;
}

export class WeightedJudge implements Judge {
  readonly identity: JudgeIdentity;
  constructor(readonly parts: readonly WeightedPart[]) {
    if (!Array.isArray(parts) || parts.length === 0) throw new Error("WeightedJudge: argument 'parts' expected at least one { judge, weight }, received none");
    parts.forEach((p, i) => {
      if (!(typeof p.weight === 'number' && Number.isFinite(p.weight) && p.weight > 0))
        throw new Error(`WeightedJudge: argument 'parts[${i}].weight' expected a finite number > 0, received ${String(p.weight)}`);
    });
    this.identity = { kind: 'sum', version: '1', parts: parts.map((p) => ({ weight: p.weight, judge: p.judge.identity })) };
  }

  async score(items: readonly JudgeItem[], opts: ScoreOptions = {}): Promise<Verdict[]> {
    const all = await Promise.all(this.parts.map((p) => p.judge.score(items)));
    return items.map((item, i) => {
      const vs = all.map((r) => r[i]);
      const bad = vs.find((v) => !v.ok);
      let v: Verdict;
      if (bad) v = { ...bad, id: item.id };
      else {
        const scores: Record<string, number> = {};
        vs.forEach((x, k) => {
          for (const [name, s] of Object.entries(x.scores ?? {})) scores[`${this.parts[k].judge.identity.kind}.${name}`] = s;
        });
        v = {
          id: item.id,
          ok: true,
          overall: vs.reduce((a, x, k) => a + this.parts[k].weight * x.overall!, 0),
          scores,
          reasons: vs.flatMap((x, k) => x.reasons.map((r) => `${this.parts[k].judge.identity.kind}: ${r}`)),
        };
        const cotError = vs.find((x) => x.cotError)?.cotError;
        if (cotError) v.cotError = cotError;
      }
      opts.onItem?.(i + 1, v);
      return v;
    });
  }
}
