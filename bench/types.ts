// The shape every benchmark returns. ratio = ours / peer in the direction where higher is better
// (so for times it is peer / ours); peer is null, with peerNote saying why, when the peer is missing.
export interface BenchRow {
  name: string;
  ours: number;
  peer: number | null;
  unit: string;
  ratio: number | null;
  /** why the peer is missing, or which peer/kernel produced it */
  note?: string;
}

export interface BenchOptions {
  /** extra arguments after the bench name */
  args: string[];
  /** quick mode: fewer repetitions (CI smoke runs) */
  quick: boolean;
}

export type BenchFn = (opts: BenchOptions) => Promise<BenchRow[]>;

/** ratio for a figure where higher is better (GFLOP/s, GB/s) */
export function ratioHigher(ours: number, peer: number | null): number | null {
  return peer && peer > 0 ? ours / peer : null;
}

/** ratio for a figure where lower is better (ms): peer / ours, so > 1 means we are faster */
export function ratioLower(ours: number, peer: number | null): number | null {
  return peer && ours > 0 ? peer / ours : null;
}

/** median of repeated timings (ms) of fn, after warm-up */
export async function timeMs(fn: () => unknown | Promise<unknown>, reps: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** median of a list of numbers */
export function median(a: ArrayLike<number>): number {
  const s = Array.from(a).sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

/**
 * The memory-copy peer of a bandwidth figure: GB/s of TypedArray.set moving `bytes` (half read, half
 * written), median of `reps` copies after warm-up.
 */
export function copyGBs(bytes: number, reps: number): number {
  const src = new Float32Array(Math.max(1, Math.floor(bytes / 8)));
  const dst = new Float32Array(src.length);
  for (let i = 0; i < 3; i++) dst.set(src);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    dst.set(src);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return bytes / (median(times) * 1e6);
}

/** A positive integer option `--name=N` of a bench's arguments, or `def`. */
export function intArg(bench: string, args: string[], name: string, def: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  if (!a) return def;
  const v = Number(a.slice(name.length + 3));
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`bench ${bench}: --${name} expected a positive integer, received ${JSON.stringify(a)}`);
  return v;
}
