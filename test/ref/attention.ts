// float64 reference for kernels/attention: the dense boolean mask built from the segment rules
// (DESIGN.md section 2), then plain softmax attention per head, and its analytic backward.
// q[N,H,hd], k/v[N,Hkv,hd] (head h reads kv head floor(h / (H/Hkv))), seg flat rows [start, end, mode, sample].

/** mask[i*N + j] = 1 when token i may attend to token j. Written straight from the rules. */
export function attentionMaskRef(seg: ArrayLike<number>, N: number): Uint8Array {
  const S = seg.length / 4;
  const segOf = new Int32Array(N);
  for (let s = 0; s < S; s++) for (let i = seg[s * 4]; i < seg[s * 4 + 1]; i++) segOf[i] = s;
  const mode = (s: number) => seg[s * 4 + 2];
  const sample = (s: number) => seg[s * 4 + 3];
  const m = new Uint8Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const si = segOf[i];
      const sj = segOf[j];
      let ok: boolean;
      if (sample(si) !== sample(sj)) ok = false; // samples never see each other
      else if (si === sj) ok = mode(si) === 0 ? j <= i : true; // causal within itself, else bidirectional
      else if (sj < si) ok = mode(sj) !== 2; // earlier segments of the sample, except noise ones
      else ok = false; // later segments
      m[i * N + j] = ok ? 1 : 0;
    }
  return m;
}

export interface AttnDims {
  N: number;
  H: number;
  Hkv: number;
  hd: number;
}

export interface AttnFwdRef {
  out: Float64Array;
  lse: Float64Array;
  /** probabilities P[h][i][j], kept for the backward */
  P: Float64Array;
}

export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  seg: ArrayLike<number>,
  d: AttnDims,
  scale: number,
): AttnFwdRef {
  const { N, H, Hkv, hd } = d;
  const G = H / Hkv;
  const mask = attentionMaskRef(seg, N);
  const out = new Float64Array(N * H * hd);
  const lse = new Float64Array(H * N);
  const P = new Float64Array(H * N * N);
  const s = new Float64Array(N);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / G);
    for (let i = 0; i < N; i++) {
      let mx = -Infinity;
      for (let j = 0; j < N; j++) {
        if (!mask[i * N + j]) {
          s[j] = -Infinity;
          continue;
        }
        let acc = 0;
        for (let e = 0; e < hd; e++) acc += q[(i * H + h) * hd + e] * k[(j * Hkv + g) * hd + e];
        s[j] = acc * scale;
        if (s[j] > mx) mx = s[j];
      }
      let sum = 0;
      for (let j = 0; j < N; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j] - mx);
      lse[h * N + i] = mx + Math.log(sum);
      const prow = P.subarray((h * N + i) * N, (h * N + i + 1) * N);
      for (let j = 0; j < N; j++) {
        const p = s[j] === -Infinity ? 0 : Math.exp(s[j] - mx) / sum;
        prow[j] = p;
        if (p === 0) continue;
        for (let e = 0; e < hd; e++) out[(i * H + h) * hd + e] += p * v[(j * Hkv + g) * hd + e];
      }
    }
  }
  return { out, lse, P };
}

export interface AttnBwdRef {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/** Analytic backward: dP = dO v^T, dS = P (dP - rowsum(dO * O)), dq = scale dS k, dk = scale dS^T q, dv = P^T dO. */
export function attentionBackwardRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  seg: ArrayLike<number>,
  dout: ArrayLike<number>,
  d: AttnDims,
  scale: number,
): AttnBwdRef {
  const { N, H, Hkv, hd } = d;
  const G = H / Hkv;
  const { out, P } = attentionRef(q, k, v, seg, d, scale);
  const dq = new Float64Array(N * H * hd);
  const dk = new Float64Array(N * Hkv * hd);
  const dv = new Float64Array(N * Hkv * hd);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / G);
    for (let i = 0; i < N; i++) {
      const qo = (i * H + h) * hd;
      let D = 0;
      for (let e = 0; e < hd; e++) D += dout[qo + e] * out[qo + e];
      for (let j = 0; j < N; j++) {
        const p = P[(h * N + i) * N + j];
        if (p === 0) continue;
        const ko = (j * Hkv + g) * hd;
        let dp = 0;
        for (let e = 0; e < hd; e++) dp += dout[qo + e] * v[ko + e];
        const ds = p * (dp - D);
        for (let e = 0; e < hd; e++) {
          dq[qo + e] += scale * ds * k[ko + e];
          dk[ko + e] += scale * ds * q[qo + e];
          dv[ko + e] += p * dout[qo + e];
        }
      }
    }
  }
  return { dq, dk, dv };
}
