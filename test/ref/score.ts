// Plain float64 reference of the exact scorer (src/world/score.ts), written from the definitions in
// its header, pixel by pixel, without its helpers: only the world's renderer, palette and scene diff.
import { applyOpsLenient, diffScenes } from '../../src/world/ops.js';
import { tonedPalette } from '../../src/world/palette.js';
import { OWNER_BACKGROUND, OWNER_SHADOW, renderScene } from '../../src/world/render.js';
import type { Scene } from '../../src/world/scene.js';
import type { RgbImage } from '../../src/world/image.js';

const EPS = 6;
const DELTA = 12;

type Px = [number, number, number];
const px = (img: { data: Uint8Array }, p: number): Px => [img.data[3 * p], img.data[3 * p + 1], img.data[3 * p + 2]];
const d = (a: Px, b: Px) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

export interface RefScore {
  ins: number;
  con: number;
  nat: number;
  art: number;
  overall: number;
  noise: number;
  smear: number;
  requiredPixels: number;
  /** per op of diffScenes (and a last null group for unexplained pixels): [pixels, credit] */
  ops: [number, number][];
  /** per target owner (-1 background and shadow), ascending: [owner, pixels, credit] */
  kept: [number, number, number][];
}

export function scoreRef(out: RgbImage, source: Scene, target: Scene): RefScore {
  const W = out.width;
  const H = out.height;
  const n = W * H;
  const S = renderScene(source, { width: W, height: H });
  const T = renderScene(target, { width: W, height: H });
  const changed = (a: { data: Uint8Array }, b: { data: Uint8Array }, p: number) => d(px(a, p), px(b, p)) > DELTA;
  const required = Array.from({ length: n }, (_, p) => changed(S.image, T.image, p));

  // Ins: one group per op (the required pixels still wrong without that op), plus the rest
  const ops = diffScenes(source, target);
  const groups: boolean[][] = ops.map((_, i) => {
    const without = renderScene(applyOpsLenient(source, ops.filter((__, j) => j !== i)).scene, { width: W, height: H }).image;
    return required.map((r, p) => r && changed(without, T.image, p));
  });
  const rest = required.map((r, p) => r && !groups.some((g) => g[p]));
  if (rest.some(Boolean)) groups.push(rest);
  const opScores: [number, number][] = [];
  for (const g of groups) {
    const credits: number[] = [];
    g.forEach((inGroup, p) => {
      if (!inGroup) return;
      const dST = d(px(S.image, p), px(T.image, p));
      const dOT = d(px(out, p), px(T.image, p));
      credits.push(Math.min(1, Math.max(0, 1 - Math.max(0, dOT - EPS) / (dST - EPS))));
    });
    if (credits.length) opScores.push([credits.length, mean(credits)]);
  }
  const ins = opScores.length ? 10 * mean(opScores.map((o) => o[1])) : 10;

  // Con: the pixels that should stay, per what the target shows there
  const byOwner = new Map<number, number[]>();
  for (let p = 0; p < n; p++) {
    if (required[p]) continue;
    const o = T.owner[p] === OWNER_BACKGROUND || T.owner[p] === OWNER_SHADOW ? -1 : T.owner[p];
    const list = byOwner.get(o) ?? [];
    list.push(Math.exp(-Math.max(0, d(px(out, p), px(T.image, p)) - EPS) / 48));
    byOwner.set(o, list);
  }
  const kept = [...byOwner.keys()].sort((a, b) => a - b).map((o): [number, number, number] => [o, byOwner.get(o)!.length, mean(byOwner.get(o)!)]);
  const con = kept.length ? 10 * mean(kept.map((k) => k[2])) : 10;

  // Nat: distance to the nearest colour of the source's and target's toned palettes
  const palette = [...tonedPalette(source.tone).all, ...tonedPalette(target.tone).all] as Px[];
  const natPx: number[] = [];
  for (let p = 0; p < n; p++) {
    const nearest = Math.min(...palette.map((c) => d(px(out, p), c)));
    natPx.push(Math.exp(-Math.max(0, nearest - EPS) / 24));
  }
  const nat = 10 * mean(natPx);

  // Art: roughness beyond the target's own, and smeared target edges
  const rough = (img: { data: Uint8Array }, x: number, y: number) => {
    let best = Infinity;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const X = x + dx;
        const Y = y + dy;
        if ((dx || dy) && X >= 0 && Y >= 0 && X < W && Y < H) best = Math.min(best, d(px(img, y * W + x), px(img, Y * W + X)));
      }
    return best === Infinity ? 0 : best;
  };
  const noisePx: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) noisePx.push(Math.exp(-Math.max(0, rough(out, x, y) - rough(T.image, x, y) - EPS) / 24));
  const noise = mean(noisePx);
  const smears: number[] = [];
  const between = (o: Px, a: Px, b: Px) => {
    const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    const len2 = ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2;
    const t = Math.min(1, Math.max(0, ((o[0] - a[0]) * ab[0] + (o[1] - a[1]) * ab[1] + (o[2] - a[2]) * ab[2]) / len2));
    const foot: Px = [a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2]];
    return (1 - Math.abs(2 * t - 1)) * Math.exp(-d(o, foot) / (Math.sqrt(len2) / 4));
  };
  const edge = (p: number, q: number) => {
    const a = px(T.image, p);
    const b = px(T.image, q);
    if (d(a, b) <= DELTA) return;
    smears.push(1 - Math.max(between(px(out, p), a, b), between(px(out, q), a, b)));
  };
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      if (x + 1 < W) edge(y * W + x, y * W + x + 1);
      if (y + 1 < H) edge(y * W + x, (y + 1) * W + x);
    }
  const smear = smears.length ? mean(smears) : 1;
  const art = 10 * Math.min(noise, smear);
  return {
    ins,
    con,
    nat,
    art,
    overall: Math.sqrt(Math.min(ins, con) * Math.min(nat, art)),
    noise,
    smear,
    requiredPixels: required.filter(Boolean).length,
    ops: opScores,
    kept,
  };
}
