// Before / after on the same eval seeds (e.g. SFT vs SFT + RL): per category and for the benchmark,
// each metric's mean before, after, and the paired difference, with 95% percentile-bootstrap
// intervals. Rows are paired by (category, seed); the bootstrap resamples the pairs of each category
// (stratified, so every category keeps its count), and the benchmark figure is the mean of the
// category means, as in summarizeScores. When a category has a single pair (demo --quick), its own
// interval has no spread, and the benchmark's resamples all pairs together instead.
import { Rng } from '../world/rng.js';
import type { BenchResult } from './benchmark.js';

export const METRICS = ['ins', 'con', 'nat', 'art', 'overall'] as const;
export type Metric = (typeof METRICS)[number];

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

export interface MetricComparison {
  before: Interval;
  after: Interval;
  /** after - before, paired */
  diff: Interval;
}

export interface RunComparison {
  n: number;
  resamples: number;
  /** the benchmark interval resamples within each category (false: some category has one pair, so it resamples all pairs together) */
  stratified: boolean;
  categories: Record<string, Record<Metric, MetricComparison>>;
  benchmark: Record<Metric, MetricComparison>;
}

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};

/** The 2.5% and 97.5% percentiles of sorted resampled statistics. */
function interval(point: number, stats: number[]): Interval {
  const s = [...stats].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
  return { mean: point, lo: at(0.025), hi: at(0.975) };
}

export function compareRuns(before: BenchResult, after: BenchResult, opts: { resamples?: number; seed?: number } = {}): RunComparison {
  const B = opts.resamples ?? 2000;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`compareRuns: option 'resamples' expected a positive integer, received ${B}`);
  const key = (r: { category: string; seed: number }) => `${r.category}\0${r.seed}`;
  const afterBy = new Map(after.rows.map((r) => [key(r), r]));
  const byCat = new Map<string, { b: Record<Metric, number>; a: Record<Metric, number> }[]>();
  for (const r of before.rows) {
    const a = afterBy.get(key(r));
    if (!a) throw new Error(`compareRuns: the after run has no row for ${r.category} seed ${r.seed} (the runs must share their eval seeds)`);
    const list = byCat.get(r.category) ?? [];
    list.push({ b: { ...r.scores }, a: { ...a.scores } });
    byCat.set(r.category, list);
  }
  if (after.rows.length !== before.rows.length) throw new Error(`compareRuns: the runs have ${before.rows.length} and ${after.rows.length} rows (the runs must share their eval seeds)`);
  const cats = [...byCat.keys()];
  const rng = new Rng(opts.seed ?? 1);
  // per resample, per category, the resampled indices
  const draws = Array.from({ length: B }, () => cats.map((c) => Array.from(byCat.get(c)!, () => Math.floor(rng.next() * byCat.get(c)!.length))));
  // with one pair in a category, resampling inside it has no spread: the benchmark then resamples all pairs
  const stratified = cats.every((c) => byCat.get(c)!.length >= 2);
  const all = cats.flatMap((c) => byCat.get(c)!);
  const pooled = stratified ? [] : Array.from({ length: B }, () => Array.from(all, () => Math.floor(rng.next() * all.length)));
  const categories: RunComparison['categories'] = {};
  const benchmark = {} as RunComparison['benchmark'];
  for (const m of METRICS) {
    const point = (c: string, idx: number[] | null, side: 'b' | 'a' | 'd') => {
      const rows = byCat.get(c)!;
      const pick = idx ?? rows.map((_, i) => i);
      return mean(pick.map((i) => (side === 'd' ? rows[i].a[m] - rows[i].b[m] : rows[i][side][m])));
    };
    const sides = ['b', 'a', 'd'] as const;
    const benchStats = { b: [] as number[], a: [] as number[], d: [] as number[] };
    for (const [ci, c] of cats.entries()) {
      const stats = { b: [] as number[], a: [] as number[], d: [] as number[] };
      for (const d of draws) for (const s of sides) stats[s].push(point(c, d[ci], s));
      categories[c] ??= {} as Record<Metric, MetricComparison>;
      categories[c][m] = { before: interval(point(c, null, 'b'), stats.b), after: interval(point(c, null, 'a'), stats.a), diff: interval(point(c, null, 'd'), stats.d) };
    }
    if (stratified) for (const d of draws) for (const s of sides) benchStats[s].push(mean(cats.map((c, ci) => point(c, d[ci], s))));
    else for (const d of pooled) for (const s of sides) benchStats[s].push(mean(d.map((i) => (s === 'd' ? all[i].a[m] - all[i].b[m] : all[i][s][m]))));
    const full = (s: 'b' | 'a' | 'd') => mean(cats.map((c) => point(c, null, s)));
    benchmark[m] = { before: interval(full('b'), benchStats.b), after: interval(full('a'), benchStats.a), diff: interval(full('d'), benchStats.d) };
  }
  return { n: before.rows.length, resamples: B, stratified, categories, benchmark };
}
