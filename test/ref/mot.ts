// float64 reference of the whole MoT forward (native/model/mot.cc), written straight from DESIGN.md
// section 2 with the per-op references. Used by the model gradient check: finite differences of this
// loss against the native float32 gradients.
import { attentionRef } from './attention.js';
import { crossEntropyRef, mseRef } from './loss.js';
import { rmsnormRef } from './rmsnorm.js';
import { ropeRef } from './rope.js';
import { timestepRef } from './timestep.js';

export interface RefConfig {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  mlp: number;
  ropeTheta: number;
  rmsEps: number;
  latentChannels: number;
  vitPatchDim: number;
  maxLatentSide: number;
  timestepDim: number;
  tieEmbeddings: boolean;
}

export interface RefBatch {
  ids: ArrayLike<number>;
  kind: ArrayLike<number>;
  expert: ArrayLike<number>;
  pos: ArrayLike<number>;
  seg: ArrayLike<number>;
  vitPatches: ArrayLike<number>;
  vitPos: ArrayLike<number>;
  latents: ArrayLike<number>;
  latentPos: ArrayLike<number>;
  latentT: ArrayLike<number>;
  ceTargets?: ArrayLike<number>;
  mseTarget?: ArrayLike<number>;
  mseMask?: ArrayLike<number>;
}

export type RefParams = Map<string, Float64Array>;

/** Multiply-adds of the reference's linear layers, x2 (FLOPs), since the last reset: the FLOP count's reference. */
export const refLinearFlops = { value: 0 };

/** y[R,out] = x[R,in] W[out,in]^T + b */
function linear(x: Float64Array, W: Float64Array, b: Float64Array | null, R: number, inD: number, outD: number): Float64Array {
  refLinearFlops.value += 2 * R * inD * outD;
  const y = new Float64Array(R * outD);
  for (let r = 0; r < R; r++)
    for (let o = 0; o < outD; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inD; i++) s += x[r * inD + i] * W[o * inD + i];
      y[r * outD + o] = s;
    }
  return y;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

export function posTable(side: number, D: number): Float64Array {
  const q = D / 4;
  const t = new Float64Array(side * side * D);
  for (let r = 0; r < side; r++)
    for (let c = 0; c < side; c++)
      for (let k = 0; k < q; k++) {
        const w = 10000 ** (-k / q);
        const o = (r * side + c) * D;
        t[o + k] = Math.sin(c * w);
        t[o + q + k] = Math.cos(c * w);
        t[o + 2 * q + k] = Math.sin(r * w);
        t[o + 3 * q + k] = Math.cos(r * w);
      }
  return t;
}

export interface RefOutput {
  loss: number;
  ce: number;
  mse: number;
  logits: Float64Array;
  velocities: Float64Array;
}

export function motForwardRef(cfg: RefConfig, p: RefParams, b: RefBatch, wCe = 1, wMse = 1): RefOutput {
  const { hidden: D, heads: H, kvHeads: Hkv, headDim: hd, mlp: F, latentChannels: C, vitPatchDim: Pd } = cfg;
  const N = b.ids.length;
  const qd = H * hd;
  const kvd = Hkv * hd;
  const P = (name: string) => {
    const v = p.get(name);
    if (!v) throw new Error(`reference: missing parameter ${name}`);
    return v;
  };
  const table = posTable(cfg.maxLatentSide, D);
  // input embeddings in sequence order
  let x = new Float64Array(N * D);
  const vitRows: number[] = [];
  const latRows: number[] = [];
  for (let i = 0; i < N; i++) {
    if (b.kind[i] === 0) for (let c = 0; c < D; c++) x[i * D + c] = P('embed.weight')[b.ids[i] * D + c];
    else if (b.kind[i] === 1) vitRows.push(i);
    else latRows.push(i);
  }
  if (vitRows.length) {
    const Nv = vitRows.length;
    const pe = linear(Float64Array.from(b.vitPatches), P('vit.patch_embed.weight'), P('vit.patch_embed.bias'), Nv, Pd, D);
    for (let r = 0; r < Nv; r++) for (let c = 0; c < D; c++) pe[r * D + c] += table[b.vitPos[r] * D + c];
    const h1 = linear(pe, P('vit.connector.fc1.weight'), P('vit.connector.fc1.bias'), Nv, D, D).map(silu);
    const out = linear(h1, P('vit.connector.fc2.weight'), P('vit.connector.fc2.bias'), Nv, D, D);
    vitRows.forEach((s, r) => {
      for (let c = 0; c < D; c++) x[s * D + c] = out[r * D + c];
    });
  }
  if (latRows.length) {
    const Nl = latRows.length;
    const ts = timestepRef(b.latentT, cfg.timestepDim, 10000);
    const h1 = linear(ts, P('time_embedder.fc1.weight'), P('time_embedder.fc1.bias'), Nl, cfg.timestepDim, D).map(silu);
    const te = linear(h1, P('time_embedder.fc2.weight'), P('time_embedder.fc2.bias'), Nl, D, D);
    const v2l = linear(Float64Array.from(b.latents), P('vae2llm.weight'), P('vae2llm.bias'), Nl, C, D);
    latRows.forEach((s, r) => {
      for (let c = 0; c < D; c++) x[s * D + c] = v2l[r * D + c] + te[r * D + c] + table[b.latentPos[r] * D + c];
    });
  }
  const ex = ['und', 'gen'];
  const rowsOf = [0, 1].map((e) => [...Array(N).keys()].filter((i) => b.expert[i] === e));
  const take = (a: Float64Array, rows: number[], W: number) => {
    const o = new Float64Array(rows.length * W);
    rows.forEach((s, r) => o.set(a.subarray(s * W, s * W + W), r * W));
    return o;
  };
  const put = (dst: Float64Array, src: Float64Array, rows: number[], W: number) =>
    rows.forEach((s, r) => dst.set(src.subarray(r * W, r * W + W), s * W));
  for (let l = 0; l < cfg.layers; l++) {
    const q = new Float64Array(N * qd);
    const k = new Float64Array(N * kvd);
    const v = new Float64Array(N * kvd);
    for (const e of [0, 1]) {
      const rows = rowsOf[e];
      if (!rows.length) continue;
      const pre = `layers.${l}.${ex[e]}.`;
      const xe = take(x, rows, D);
      const a = rmsnormRef(xe, P(`${pre}input_norm.weight`), cfg.rmsEps).y;
      const qe = rmsnormRef(linear(a, P(`${pre}q_proj.weight`), P(`${pre}q_proj.bias`), rows.length, D, qd), P(`${pre}q_norm.weight`), cfg.rmsEps).y;
      const ke = rmsnormRef(linear(a, P(`${pre}k_proj.weight`), P(`${pre}k_proj.bias`), rows.length, D, kvd), P(`${pre}k_norm.weight`), cfg.rmsEps).y;
      const ve = linear(a, P(`${pre}v_proj.weight`), P(`${pre}v_proj.bias`), rows.length, D, kvd);
      put(q, qe, rows, qd);
      put(k, ke, rows, kvd);
      put(v, ve, rows, kvd);
    }
    const qr = ropeRef(q, b.pos, N, H, hd, cfg.ropeTheta);
    const kr = ropeRef(k, b.pos, N, Hkv, hd, cfg.ropeTheta);
    const o = attentionRef(qr, kr, v, b.seg, { N, H, Hkv, hd }, 1 / Math.sqrt(hd)).out;
    const xn = new Float64Array(N * D);
    for (const e of [0, 1]) {
      const rows = rowsOf[e];
      if (!rows.length) continue;
      const pre = `layers.${l}.${ex[e]}.`;
      const xe = take(x, rows, D);
      const att = linear(take(o, rows, qd), P(`${pre}o_proj.weight`), null, rows.length, qd, D);
      const xm = xe.map((val, i) => val + att[i]);
      const bn = rmsnormRef(xm, P(`${pre}post_norm.weight`), cfg.rmsEps).y;
      const g = linear(bn, P(`${pre}mlp.gate_proj.weight`), null, rows.length, D, F);
      const u = linear(bn, P(`${pre}mlp.up_proj.weight`), null, rows.length, D, F);
      const hh = g.map((gv, i) => silu(gv) * u[i]);
      const dn = linear(hh, P(`${pre}mlp.down_proj.weight`), null, rows.length, F, D);
      put(xn, xm.map((val, i) => val + dn[i]), rows, D);
    }
    x = xn;
  }
  // heads
  const fin = new Float64Array(N * D);
  for (const e of [0, 1]) {
    const rows = rowsOf[e];
    if (rows.length) put(fin, rmsnormRef(take(x, rows, D), P(`final_norm.${ex[e]}.weight`), cfg.rmsEps).y, rows, D);
  }
  const ceT = b.ceTargets ?? new Int32Array(N).fill(-1);
  const ceRows = [...Array(N).keys()].filter((i) => ceT[i] >= 0);
  const lm = cfg.tieEmbeddings ? P('embed.weight') : P('lm_head.weight');
  const logits = linear(take(fin, ceRows, D), lm, null, ceRows.length, D, cfg.vocab);
  let ce = 0;
  if (ceRows.length) {
    const l = crossEntropyRef(logits, ceRows.map((i) => ceT[i]), cfg.vocab);
    ce = l.reduce((a, c) => a + c, 0) / ceRows.length;
  }
  const noisySeq = [...Array(N).keys()].filter((i) => b.kind[i] === 3);
  const noisyLat: number[] = [];
  {
    let li = 0;
    for (let i = 0; i < N; i++) if (b.kind[i] === 2) li++;
      else if (b.kind[i] === 3) noisyLat.push(li++);
  }
  const velocities = linear(take(fin, noisySeq, D), P('llm2vae.weight'), P('llm2vae.bias'), noisySeq.length, D, C);
  let mse = 0;
  if (noisySeq.length) {
    const tgt = new Float64Array(noisySeq.length * C);
    noisyLat.forEach((r, j) => {
      for (let c = 0; c < C; c++) tgt[j * C + c] = b.mseTarget ? b.mseTarget[r * C + c] : 0;
    });
    mse = mseRef(velocities, tgt, noisyLat.map((r) => (b.mseMask ? b.mseMask[r] : 1)), C);
  }
  return { loss: wCe * ce + wMse * mse, ce, mse, logits, velocities };
}
