// The exact scorer: how well an output image carries out the edit from a source scene to a target
// scene, on VIEScore's 0-10 scale.
//
//   Ins  share of the required changes carried out. The required pixels are those where the source
//        and target renders differ; each op of diffScenes(source, target) is responsible for the
//        pixels that would be wrong without it (leave-one-out), and scores the mean progress of its
//        pixels from the source colour to the target colour. Ins is the mean over ops.
//   Con  share of what should stay that stayed: the other pixels, grouped per object (and the
//        background), each group scored by closeness to the target, Con the mean over groups.
//   Nat  pixels on the palette: distance of each pixel to the nearest colour the renderer can draw
//        under the source or target tone.
//   Art  structure vs noise and smear: noise is pixel-level roughness beyond the target's own, smear
//        is an edge of the target that the output blurs into an in-between colour. Art = the worse.
//   Overall = sqrt(min(Ins, Con) * min(Nat, Art)).
//
// The target scene can be any scene (the CEC judge passes the scene a CoT implies). On the
// renderer's own output everything is exact (the target render scores 10 on all four); on a model's
// output the per-pixel credits fall off smoothly with colour distance.

import { checkImage, type RgbImage } from './image.js';
import { applyOpsLenient, diffScenes, type EditOp } from './ops.js';
import { type Rgb, tonedPalette } from './palette.js';
import { OWNER_BACKGROUND, OWNER_SHADOW, type Rendered, renderScene } from './render.js';
import type { Scene } from './scene.js';

/** Colour distance below which a pixel counts as exactly right (PNG/VAE round-off). */
export const SCORE_EPS = 6;
/** Source/target colour distance above which a pixel is a required change. */
export const CHANGE_DELTA = 12;
const TAU_CON = 48;
const TAU_NAT = 24;
const TAU_ART = 24;

export interface EditScores {
  ins: number;
  con: number;
  nat: number;
  art: number;
  overall: number;
}

export interface OpScore {
  /** The op (of diffScenes(source, target)); null for required pixels no single op explains. */
  op: EditOp | null;
  pixels: number;
  /** Mean progress 0..1 of its pixels from source to target colour. */
  credit: number;
}

export interface KeptScore {
  /** Object id of the target scene, or -1 for the background. */
  owner: number;
  pixels: number;
  credit: number;
}

export interface SampleScore extends EditScores {
  ops: OpScore[];
  kept: KeptScore[];
  requiredPixels: number;
  /** Art's two parts, 0..1. */
  noise: number;
  smear: number;
}

export interface ChangeRegions {
  ops: EditOp[];
  /** 1 where the source and target renders differ by more than CHANGE_DELTA. */
  required: Uint8Array;
  /** Per op: the required pixels that would stay wrong without this op. */
  perOp: Uint8Array[];
  /** Required pixels no single op explains (empty for independent ops). */
  unexplained: Uint8Array;
  source: Rendered;
  target: Rendered;
}

function dist(a: Uint8Array, i: number, b: Uint8Array, j: number): number {
  const dr = a[i] - b[j];
  const dg = a[i + 1] - b[j + 1];
  const db = a[i + 2] - b[j + 2];
  return Math.sqrt(dr * dr + dg * dg + db * db);
}

/** Which pixels must change, and which op is responsible for each, at the given canvas size. */
export function changeRegions(source: Scene, target: Scene, width: number, height: number): ChangeRegions {
  const size = { width, height };
  const rs = renderScene(source, size);
  const rt = renderScene(target, size);
  const S = rs.image.data;
  const T = rt.image.data;
  const n = width * height;
  const required = new Uint8Array(n);
  for (let p = 0; p < n; p++) if (dist(S, p * 3, T, p * 3) > CHANGE_DELTA) required[p] = 1;
  const ops = diffScenes(source, target);
  const explained = new Uint8Array(n);
  const perOp = ops.map((_, i) => {
    const without = applyOpsLenient(source, ops.filter((__, j) => j !== i)).scene;
    const R = renderScene(without, size).image.data;
    const region = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      if (required[p] && dist(R, p * 3, T, p * 3) > CHANGE_DELTA) {
        region[p] = 1;
        explained[p] = 1;
      }
    }
    return region;
  });
  const unexplained = new Uint8Array(n);
  for (let p = 0; p < n; p++) if (required[p] && !explained[p]) unexplained[p] = 1;
  return { ops, required, perOp, unexplained, source: rs, target: rt };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function count(mask: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < mask.length; i++) c += mask[i];
  return c;
}

/**
 * Scores an output image (any size; the scenes are rendered at its size) against the edit from
 * `source` to `target`.
 */
export function scoreEdit(output: RgbImage, source: Scene, target: Scene): SampleScore {
  checkImage('scoreEdit: output', output);
  const { width: W, height: H } = output;
  const n = W * H;
  const regions = changeRegions(source, target, W, H);
  const O = output.data;
  const S = regions.source.image.data;
  const T = regions.target.image.data;

  // Ins: per op, mean progress from source colour to target colour over its pixels.
  const insCredit = (p: number): number => {
    const i = p * 3;
    const dST = dist(S, i, T, i);
    return clamp01(1 - Math.max(0, dist(O, i, T, i) - SCORE_EPS) / (dST - SCORE_EPS));
  };
  const opScores: OpScore[] = [];
  const groups: [EditOp | null, Uint8Array][] = regions.ops.map((op, i) => [op, regions.perOp[i]]);
  if (count(regions.unexplained) > 0) groups.push([null, regions.unexplained]);
  for (const [op, mask] of groups) {
    let sum = 0;
    let pixels = 0;
    for (let p = 0; p < n; p++) {
      if (!mask[p]) continue;
      sum += insCredit(p);
      pixels++;
    }
    if (pixels > 0) opScores.push({ op, pixels, credit: sum / pixels });
  }
  // No required change at all (the target looks like the source): nothing to carry out.
  const ins = opScores.length === 0 ? 10 : (10 * opScores.reduce((s, o) => s + o.credit, 0)) / opScores.length;

  // Con: pixels that should stay, grouped by what the target shows there.
  const keptSum = new Map<number, { pixels: number; sum: number }>();
  const owner = regions.target.owner;
  for (let p = 0; p < n; p++) {
    if (regions.required[p]) continue;
    const key = owner[p] === OWNER_SHADOW || owner[p] === OWNER_BACKGROUND ? -1 : owner[p];
    const credit = Math.exp(-Math.max(0, dist(O, p * 3, T, p * 3) - SCORE_EPS) / TAU_CON);
    const g = keptSum.get(key) ?? { pixels: 0, sum: 0 };
    g.pixels++;
    g.sum += credit;
    keptSum.set(key, g);
  }
  const kept: KeptScore[] = [...keptSum.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, g]) => ({ owner: k, pixels: g.pixels, credit: g.sum / g.pixels }));
  const con = kept.length === 0 ? 10 : (10 * kept.reduce((s, k) => s + k.credit, 0)) / kept.length;

  const nat = 10 * naturalness(output, [source.tone, target.tone]);
  const { noise, smear } = artifacts(output, regions.target.image);
  const art = 10 * Math.min(noise, smear);
  const overall = Math.sqrt(Math.min(ins, con) * Math.min(nat, art));
  return { ins, con, nat, art, overall, ops: opScores, kept, requiredPixels: count(regions.required), noise, smear };
}

/** Mean over pixels of closeness (0..1) to the nearest palette colour of the given tones. */
export function naturalness(img: RgbImage, tones: readonly Scene['tone'][]): number {
  const palette: Rgb[] = [];
  for (const t of new Set(tones)) palette.push(...tonedPalette(t).all);
  const cache = new Map<number, number>();
  const D = img.data;
  let sum = 0;
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    const r = D[p * 3];
    const g = D[p * 3 + 1];
    const b = D[p * 3 + 2];
    const key = (r << 16) | (g << 8) | b;
    let credit = cache.get(key);
    if (credit === undefined) {
      let best = Infinity;
      for (const c of palette) {
        const d = (r - c[0]) ** 2 + (g - c[1]) ** 2 + (b - c[2]) ** 2;
        if (d < best) best = d;
      }
      credit = Math.exp(-Math.max(0, Math.sqrt(best) - SCORE_EPS) / TAU_NAT);
      cache.set(key, credit);
    }
    sum += credit;
  }
  return sum / n;
}

/** Per pixel: distance to the most similar of its 8 neighbours (0 inside any flat area). */
function nearestNeighbourDistance(img: RgbImage): Float64Array {
  const { width: W, height: H, data: D } = img;
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let best = Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || x + dx < 0 || y + dy < 0 || x + dx >= W || y + dy >= H) continue;
          const d = dist(D, (y * W + x) * 3, D, ((y + dy) * W + x + dx) * 3);
          if (d < best) best = d;
        }
      }
      out[y * W + x] = best === Infinity ? 0 : best;
    }
  }
  return out;
}

/**
 * Art's two parts, each 0..1 (1 = clean). noise: roughness of the output beyond the target's own
 * (a clean render is flat wherever the target is). smear: at each edge of the target, whether the
 * output shows a colour in between the two sides' colours (a blurred edge) on either pixel. Wrong
 * but clean content (another colour altogether) is not counted here; Ins and Con see it.
 */
export function artifacts(output: RgbImage, target: RgbImage): { noise: number; smear: number } {
  const { width: W, height: H } = output;
  if (target.width !== W || target.height !== H) {
    throw new RangeError(`artifacts: target is ${target.width}x${target.height}, output ${W}x${H}`);
  }
  const nnO = nearestNeighbourDistance(output);
  const nnT = nearestNeighbourDistance(target);
  let noiseSum = 0;
  for (let p = 0; p < W * H; p++) noiseSum += Math.exp(-Math.max(0, nnO[p] - nnT[p] - SCORE_EPS) / TAU_ART);
  const O = output.data;
  const T = target.data;
  let smearSum = 0;
  let edges = 0;
  // How far out[k] sits strictly between the two target colours of an edge: 1 for the midpoint
  // colour, 0 at either end or off the segment between them (a different colour is not a smear).
  const between = (k: number, i: number, j: number, dT: number): number => {
    // Integer arithmetic up to the division, so an output equal to either end gives exactly 0.
    let dot = 0;
    let dT2 = 0;
    for (let c = 0; c < 3; c++) {
      dot += (O[k + c] - T[i + c]) * (T[j + c] - T[i + c]);
      dT2 += (T[j + c] - T[i + c]) ** 2;
    }
    const t = Math.min(1, Math.max(0, dot / dT2));
    let perp2 = 0;
    for (let c = 0; c < 3; c++) perp2 += (O[k + c] - (T[i + c] + t * (T[j + c] - T[i + c]))) ** 2;
    return (1 - Math.abs(2 * t - 1)) * Math.exp(-Math.sqrt(perp2) / (dT / 4));
  };
  const edge = (p: number, q: number) => {
    const i = p * 3;
    const j = q * 3;
    const dT = dist(T, i, T, j);
    if (dT <= CHANGE_DELTA) return;
    edges++;
    smearSum += 1 - Math.max(between(i, i, j, dT), between(j, i, j, dT));
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (x + 1 < W) edge(y * W + x, y * W + x + 1);
      if (y + 1 < H) edge(y * W + x, (y + 1) * W + x);
    }
  }
  return { noise: noiseSum / (W * H), smear: edges === 0 ? 1 : smearSum / edges };
}

export interface CategorySummary extends EditScores {
  n: number;
}

export interface ScoreSummary {
  /** Per category: the mean of each score over its samples. */
  categories: Record<string, CategorySummary>;
  /** Mean over categories of the category means (every category weighs the same). */
  benchmark: EditScores & { categories: number; samples: number };
}

const KEYS = ['ins', 'con', 'nat', 'art', 'overall'] as const;

export function summarizeScores(rows: readonly { category: string; scores: EditScores }[]): ScoreSummary {
  const sums = new Map<string, CategorySummary>();
  for (const { category, scores } of rows) {
    const s = sums.get(category) ?? { ins: 0, con: 0, nat: 0, art: 0, overall: 0, n: 0 };
    for (const k of KEYS) {
      if (!Number.isFinite(scores[k])) throw new RangeError(`summarizeScores: ${category} has ${k} = ${scores[k]}`);
      s[k] += scores[k];
    }
    s.n++;
    sums.set(category, s);
  }
  const categories: Record<string, CategorySummary> = {};
  const bench = { ins: 0, con: 0, nat: 0, art: 0, overall: 0, categories: sums.size, samples: rows.length };
  for (const [name, s] of sums) {
    const mean = { n: s.n } as CategorySummary;
    for (const k of KEYS) {
      mean[k] = s[k] / s.n;
      bench[k] += mean[k] / sums.size;
    }
    categories[name] = mean;
  }
  return { categories, benchmark: bench };
}
