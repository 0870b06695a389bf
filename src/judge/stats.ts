// Agreement of a judge with reference labels: Pearson's r, Spearman's rho (Pearson of the ranks,
// ties sharing their mean rank) and the mean absolute error.

function check(name: string, x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`${name}: expected two lists of the same length, received ${x.length} and ${y.length}`);
  if (x.length < 2) throw new RangeError(`${name}: expected at least 2 pairs, received ${x.length}`);
  for (const [i, v] of [...x, ...y].entries()) if (!Number.isFinite(v)) throw new RangeError(`${name}: value ${i} is ${v}, expected finite numbers`);
}

const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** Pearson's correlation; NaN when either list is constant (no correlation is defined). */
export function pearson(x: readonly number[], y: readonly number[]): number {
  check('pearson', x, y);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** 1-based ranks, ties getting the mean of the ranks they span. */
export function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(x.length);
  for (let a = 0; a < order.length; ) {
    let b = a;
    while (b + 1 < order.length && order[b + 1].v === order[a].v) b++;
    const r = (a + b) / 2 + 1;
    for (let k = a; k <= b; k++) out[order[k].i] = r;
    a = b + 1;
  }
  return out;
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  check('spearman', x, y);
  return pearson(ranks(x), ranks(y));
}

export function mae(x: readonly number[], y: readonly number[]): number {
  check('mae', x, y);
  return mean(x.map((v, i) => Math.abs(v - y[i])));
}
