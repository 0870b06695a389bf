// CUDA attention over packed segments: the same ops, mask and outputs as cpu.cc (see attention.h).
//
// Plan. The segment table lives on the device; it is copied to the host (a few rows; the copy waits for
// the work queued before it, as embedding's ids do) and validated exactly as on the CPU. The host then builds per-token metadata (sample and segment bounds,
// mode, the end of the run of noise tokens a token belongs to) and the tile lists: query tiles and key
// tiles of at most 64 rows that never cross a segment (each segment split into near-equal parts, the
// longest work first). One upload to a cached device buffer, skipped when the table is the one the
// buffer was built from (every layer of a step reuses it). Masks are evaluated per (row, key) from the
// metadata (visible(), a __host__ __device__ function checked against the rule on the host); whole key
// ranges no row can see (earlier noise runs, keys past the causal diagonal or the segment end, other
// samples) are never visited.
//
// Tensor-core path (head_dim % 16 == 0, <= 128, 16-byte aligned inputs): WMMA bf16 16x16x16 fragments,
// fp32 accumulation; softmax, lse, row sums and D in fp32. Inputs are fp32 in global memory and rounded
// to bf16 (round to nearest) as tiles are staged into shared memory. 128 threads = 4 warps per CTA,
// each warp owning 16 rows of a 64-row tile.
//   forward (FA2), one CTA per (query tile, head): Q fragments stay in registers; per 64-key step, S =
//   Q K^T goes through shared memory (fp32) for a row-wise online softmax (2 lanes per row, shuffles),
//   P is written as bf16 and O += P V accumulates in registers. The accumulator layout is opaque, so
//   each thread learns the (row, column) of its accumulator elements once, by loading a table of row
//   / column indices into a fragment (load_matrix_sync is the library's own mapping): the running O is
//   then rescaled in registers and written to global memory without a shared-memory round trip. (A
//   loaded accumulator and an mma result share one element mapping: the CUDA guide's own alpha / beta
//   epilogue combines them elementwise.)
//   backward (FA2, deterministic, no atomics): D = rowsum(dO * O) in a small kernel, then
//   dq: one CTA per (query tile, head), per 64-key step and 16-key chunk: S = Q K^T and dP = dO V^T
//       (fragments), P = exp(scale S - lse), dS = P (dP - D) elementwise in registers, dS -> bf16 in
//       shared memory, dq += dS K; dq = scale * dq.
//   dk, dv: one CTA per (key tile, kv head), looping over the group's heads in order and over the
//       query interval that sees the tile (64-query blocks, 16-query chunks): S^T = K Q^T, dP^T =
//       V dO^T, P^T, dS^T as above, dv += P^T dO, dk += dS^T Q; dk = scale * dk.
//   Shared memory (bytes) for head_dim 64 / 128: forward 47,872 / 64,256; dq 42,752 / 75,520;
//   dk dv 46,592 / 79,360 (under the 163 KB of sm_80). Costs: S makes a round trip through shared
//   memory in the forward (the row-wise softmax needs whole rows); the backward re-reads its Q / dO
//   (dq) and K / V (dk dv) fragments from shared memory for every 16-wide chunk, to stay within 255
//   registers. Masked entries of a tile are zeros that still cost MMA work (ragged tile ends, the
//   causal diagonal), as in any tiled flash attention.
// SIMT path (any other even head_dim up to 256, unaligned tensors, or METACOT_ATTN_CUDA=simt): fp32
// throughout, one warp per (query row, head) for the forward and dq and per (key, kv head) for dk dv,
// visiting exactly the visible keys (queries) with an online softmax; slow, but exact to float32.
// Deterministic: every output element has one writer and a fixed summation order (bitwise equal run to
// run). Keys no row of a tile may see are staged as zeros, so a NaN in such a k or v never reaches an output
// (the causal diagonal inside a tile excepted, as on the CPU).
#include <cuda_bf16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "../common/cuda_check.cuh"
#include "attention.h"

namespace mc {
namespace {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;

constexpr int kTile = 64;  // rows of a query (forward, dq) or key (dk, dv) tile; keys per forward / dq step
constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kChunkLd = 24;  // leading dimension of a warp's 16 x 16 bf16 chunk (P, dS)
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// ------------------------------------- plan (host and device) ---------------------------------------

// Per token: its sample [samp_start, samp_end), its segment [seg_start, seg_end) and mode, and for a
// noise token the end of the run of consecutive noise tokens it belongs to (noise_end = the token + 1
// at least); noise_end = the token itself otherwise.
struct alignas(16) TokMeta {
  int32_t samp_start, seg_start, seg_end, samp_end;
  int32_t mode, noise_end, pad0, pad1;
};
// Query tile {r0, r1, -, -}; key tile {c0, c1, qa, qb}: the queries that see any of its keys are [qa, qb).
struct alignas(16) Tile4 {
  int32_t a, b, c, d;
};

// Token i's own-segment keys are [seg_start, own_end): up to itself when causal, the whole segment else.
__host__ __device__ inline int own_end(const TokMeta& m, int i) { return m.mode == kAttnCausal ? i + 1 : m.seg_end; }

// Whether a row (whose sample starts at samp_start, segment at seg_start, own keys ending at oe) sees
// key j, key_noise telling whether j lies in a noise segment: its own segment's keys up to oe, and the
// keys of earlier segments of its sample that are not noise. Nothing else (later segments, other samples).
__host__ __device__ inline bool visible(int samp_start, int seg_start, int oe, int j, bool key_noise) {
  return (j >= seg_start && j < oe) || (j >= samp_start && j < seg_start && !key_noise);
}
__host__ __device__ inline bool visible_tok(const TokMeta* meta, int i, int j) {
  const TokMeta& m = meta[i];
  return visible(m.samp_start, m.seg_start, own_end(m, i), j, meta[j].mode == kAttnNoise);
}

// Keys of a query tile [r0, r1) inside one segment (m = its metadata) are visited from m.samp_start to
// qtile_key_end, skipping the runs of earlier noise tokens: skip_noise(k) is the first key >= k that is
// not inside such a run (k itself when k is in the tile's own segment or not noise).
__host__ __device__ inline int qtile_key_end(const TokMeta& m, int r1) { return m.mode == kAttnCausal ? r1 : m.seg_end; }
__host__ __device__ inline int skip_noise(const TokMeta* meta, int seg_start, int k) {
  while (k < seg_start && meta[k].mode == kAttnNoise) k = meta[k].noise_end < seg_start ? meta[k].noise_end : seg_start;
  return k;
}

// The queries that see key j (m = its metadata) are exactly [key_query_begin, key_query_end): its own
// segment's rows from j on (causal) or all of them, then every later row of the sample unless j is noise.
__host__ __device__ inline int key_query_begin(const TokMeta& m, int j) { return m.mode == kAttnCausal ? j : m.seg_start; }
__host__ __device__ inline int key_query_end(const TokMeta& m) { return m.mode == kAttnNoise ? m.seg_end : m.samp_end; }

struct HostPlan {
  std::vector<TokMeta> meta;
  std::vector<Tile4> qtiles, ktiles;
};

// seg must be valid (attention_check_segments) and cover [0, N), N >= 1.
void build_plan(const int32_t* seg, int64_t S, int64_t N, HostPlan* p) {
  p->meta.assign(static_cast<size_t>(N), TokMeta{});
  p->qtiles.clear();
  p->ktiles.clear();
  for (int64_t s = 0; s < S;) {  // one sample: rows [s, e)
    int64_t e = s + 1;
    while (e < S && seg[e * 4 + 3] == seg[s * 4 + 3]) ++e;
    const int32_t a = seg[s * 4], b = seg[(e - 1) * 4 + 1];
    for (int64_t r = s; r < e; ++r)
      for (int32_t t = seg[r * 4]; t < seg[r * 4 + 1]; ++t)
        p->meta[static_cast<size_t>(t)] = {a, seg[r * 4], seg[r * 4 + 1], b, seg[r * 4 + 2], t, 0, 0};
    s = e;
  }
  for (int64_t t = N - 1; t >= 0; --t) {
    TokMeta& m = p->meta[static_cast<size_t>(t)];
    if (m.mode != kAttnNoise) continue;
    m.noise_end = (t + 1 < N && p->meta[static_cast<size_t>(t + 1)].mode == kAttnNoise)
                      ? p->meta[static_cast<size_t>(t + 1)].noise_end
                      : static_cast<int32_t>(t + 1);
  }
  std::vector<double> qcost, kcost;
  for (int64_t s = 0; s < S; ++s) {
    const int32_t a = seg[s * 4], b = seg[s * 4 + 1];
    const TokMeta& m = p->meta[static_cast<size_t>(a)];
    const int64_t n = (static_cast<int64_t>(b - a) + kTile - 1) / kTile;
    for (int64_t t = 0; t < n; ++t) {
      const int32_t r0 = static_cast<int32_t>(a + (b - a) * t / n), r1 = static_cast<int32_t>(a + (b - a) * (t + 1) / n);
      p->qtiles.push_back({r0, r1, 0, 0});
      qcost.push_back(static_cast<double>(r1 - r0) * (qtile_key_end(m, r1) - m.samp_start + 16));
      const int32_t qa = key_query_begin(m, r0), qb = key_query_end(m);
      p->ktiles.push_back({r0, r1, qa, qb});
      kcost.push_back(static_cast<double>(r1 - r0) * (qb - qa + 16));
    }
  }
  // Longest first: the block scheduler then balances the uneven (causal, noise) tiles.
  auto order = [](std::vector<Tile4>& tiles, const std::vector<double>& cost) {
    std::vector<size_t> idx(tiles.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return cost[x] > cost[y]; });
    std::vector<Tile4> sorted(tiles.size());
    for (size_t i = 0; i < idx.size(); ++i) sorted[i] = tiles[idx[i]];
    tiles.swap(sorted);
  };
  order(p->qtiles, qcost);
  order(p->ktiles, kcost);
}

// ------------------------------------- device helpers -----------------------------------------------

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
constexpr int kNE = FragC::num_elements;

constexpr int align128(int x) { return (x + 127) / 128 * 128; }
constexpr int tile_bytes(int hd) { return align128(kTile * (hd + 8) * 2); }  // a 64-row bf16 tile, ld hd + 8
constexpr int kProbeBytes = 2 * 256 * 4;
constexpr int kChunkBytes = kWarps * 16 * kChunkLd * 2;

// The (row, column) in its 16 x 16 tile of each accumulator element this thread holds, found by
// loading tables of row and column indices (probe[0..255] = r, probe[256..511] = c, row-major) into a
// fragment: the library's own mapping, whatever the architecture. Packed 4 bits per element.
static_assert(kNE <= 8, "accumulator elements per thread fit 4-bit packing");
struct FragCoords {
  uint32_t rows = 0, cols = 0;
  __device__ int row(int e) const { return static_cast<int>((rows >> (4 * e)) & 15u); }
  __device__ int col(int e) const { return static_cast<int>((cols >> (4 * e)) & 15u); }
};
__device__ inline FragCoords fragment_coords(const float* probe) {
  FragCoords fc;
  FragC f;
  wmma::load_matrix_sync(f, probe, 16, wmma::mem_row_major);
#pragma unroll
  for (int e = 0; e < kNE; ++e) fc.rows |= static_cast<uint32_t>(f.x[e]) << (4 * e);
  wmma::load_matrix_sync(f, probe + 256, 16, wmma::mem_row_major);
#pragma unroll
  for (int e = 0; e < kNE; ++e) fc.cols |= static_cast<uint32_t>(f.x[e]) << (4 * e);
  return fc;
}
__device__ inline void fill_probe(float* probe) {
  for (int x = threadIdx.x; x < 256; x += kThreads) {
    probe[x] = static_cast<float>(x / 16);
    probe[256 + x] = static_cast<float>(x % 16);
  }
}

// dst[r][0..HD) (ld HD + 8, bf16) = src row (row0 + r) of head hh of a [*, heads, HD] fp32 tensor, for the
// 64 rows r; zeros where !keep(row). Four float4 loads in flight per thread before the stores.
template <int HD, typename Keep>
__device__ inline void stage_rows(bf16* dst, const float* __restrict__ src, int64_t heads, int64_t hh, int row0,
                                  Keep keep) {
  constexpr int C4 = HD / 4, kTotal = kTile * C4, kUnroll = 4;
  static_assert(kTotal % kThreads == 0, "whole rounds");
#pragma unroll 1
  for (int base = 0; base < kTotal; base += kThreads * kUnroll) {
    float4 x[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u * kThreads >= kTotal) break;
      const int idx = base + u * kThreads + threadIdx.x, r = idx / C4, c = (idx % C4) * 4, row = row0 + r;
      x[u] = keep(row) ? *reinterpret_cast<const float4*>(src + (static_cast<int64_t>(row) * heads + hh) * HD + c)
                       : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u * kThreads >= kTotal) break;
      const int idx = base + u * kThreads + threadIdx.x, r = idx / C4, c = (idx % C4) * 4;
      __nv_bfloat162* d2 = reinterpret_cast<__nv_bfloat162*>(dst + r * (HD + 8) + c);
      d2[0] = __floats2bfloat162_rn(x[u].x, x[u].y);
      d2[1] = __floats2bfloat162_rn(x[u].z, x[u].w);
    }
  }
}

// Stages the keys [kt, kt + 64) of kv head g for a query tile (segment start seg_start): key j is kept when
// j < k1 and some row may see it (not an earlier noise key); kflag[c] = 0 past k1, 2 noise, 1 else.
template <int HD>
__device__ inline void stage_keys(bf16* Ks, bf16* Vs, int* kflag, const float* __restrict__ k,
                                  const float* __restrict__ v, const TokMeta* __restrict__ meta, int64_t Hkv, int64_t g,
                                  int kt, int k1, int seg_start) {
  for (int c = threadIdx.x; c < kTile; c += kThreads) {
    const int j = kt + c;
    kflag[c] = j < k1 ? (meta[j].mode == kAttnNoise ? 2 : 1) : 0;
  }
  auto keep = [&](int j) { return j < k1 && (j >= seg_start || meta[j].mode != kAttnNoise); };
  stage_rows<HD>(Ks, k, Hkv, g, kt, keep);
  stage_rows<HD>(Vs, v, Hkv, g, kt, keep);
}

__device__ inline float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// ------------------------------------- tensor-core forward ------------------------------------------

template <int HD>
struct FwdSmem {
  static constexpr int LDH = HD + 8, LDS = kTile + 4, LDP = kTile + 8;
  static constexpr int ks = 0, vs = ks + tile_bytes(HD), sf = vs + tile_bytes(HD);
  static constexpr int ps = sf + align128(kTile * LDS * 4);
  static constexpr int probe = ps + align128(kTile * LDP * 2);
  static constexpr int kflag = probe + kProbeBytes, alpha = kflag + kTile * 4, lsum = alpha + kTile * 4;
  static constexpr int bytes = lsum + kTile * 4;
  static_assert(kTile * LDH * 2 <= kTile * LDS * 4, "Q is staged in the score buffer");
};

// grid: (query tiles) x H, head fastest; out[N,H,HD], lse[H,N]; c2 = scale * log2(e) (scores kept in log2 units)
template <int HD>
__global__ void __launch_bounds__(kThreads) attn_fwd_tc_kernel(float* __restrict__ out, float* __restrict__ lse,
                                                               const float* __restrict__ q, const float* __restrict__ k,
                                                               const float* __restrict__ v,
                                                               const TokMeta* __restrict__ meta,
                                                               const Tile4* __restrict__ tiles, int N, int H, int Hkv,
                                                               float c2) {
  using L = FwdSmem<HD>;
  constexpr int LDH = L::LDH, LDS = L::LDS, LDP = L::LDP, NF = HD / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::ks);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::vs);
  float* Sf = reinterpret_cast<float*>(smem + L::sf);
  bf16* Qst = reinterpret_cast<bf16*>(smem + L::sf);  // Q staging, before the first scores
  bf16* Ps = reinterpret_cast<bf16*>(smem + L::ps);
  float* probe = reinterpret_cast<float*>(smem + L::probe);
  int* kflag = reinterpret_cast<int*>(smem + L::kflag);
  float* alpha_s = reinterpret_cast<float*>(smem + L::alpha);
  float* l_s = reinterpret_cast<float*>(smem + L::lsum);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = static_cast<int>(blockIdx.x % H), g = h / (H / Hkv);
  const Tile4 t = tiles[blockIdx.x / H];
  const int r0 = t.a, r1 = t.b;
  const TokMeta m0 = meta[r0];  // every row of the tile is in this segment
  const int samp_start = m0.samp_start, seg_start = m0.seg_start, kend = qtile_key_end(m0, r1);
  const bool live = r0 + warp * 16 < r1;  // the warp has rows

  fill_probe(probe);
  stage_rows<HD>(Qst, q, H, h, r0, [&](int i) { return i < r1; });
  __syncthreads();
  FragA qa[NF];
#pragma unroll
  for (int kk = 0; kk < NF; ++kk) wmma::load_matrix_sync(qa[kk], Qst + warp * 16 * LDH + kk * 16, LDH);
  const FragCoords fc = fragment_coords(probe);
  FragC o[NF];
#pragma unroll
  for (int n = 0; n < NF; ++n) wmma::fill_fragment(o[n], 0.f);

  // softmax ownership: lane pair (2r, 2r + 1) holds row r of the warp's 16, columns half + 2c
  const int lrow = lane / 2, half = lane % 2, rr = warp * 16 + lrow, i = r0 + rr;
  const bool row_ok = i < r1;
  const int oe = own_end(m0, i);
  float m = -INFINITY, l = 0.f;
  float* Sw = Sf + warp * 16 * LDS;
  bf16* Pw = Ps + warp * 16 * LDP;

  for (int kt = skip_noise(meta, seg_start, samp_start); kt < kend; kt = skip_noise(meta, seg_start, kt + kTile)) {
    const int k1 = min(kt + kTile, kend);
    __syncthreads();  // Q staging / the previous step's K, V, S, P are no longer read
    stage_keys<HD>(Ks, Vs, kflag, k, v, meta, Hkv, g, kt, k1, seg_start);
    __syncthreads();
    if (live) {
      // S = Q K^T, 16 x 64 per warp, to shared memory
#pragma unroll
      for (int nb = 0; nb < kTile / 16; ++nb) {
        if (kt + nb * 16 >= k1) break;
        FragC s;
        wmma::fill_fragment(s, 0.f);
#pragma unroll
        for (int kk = 0; kk < NF; ++kk) {
          FragBCol kb;
          wmma::load_matrix_sync(kb, Ks + nb * 16 * LDH + kk * 16, LDH);
          wmma::mma_sync(s, qa[kk], kb, s);
        }
        wmma::store_matrix_sync(Sw + nb * 16, s, LDS, wmma::mem_row_major);
      }
      __syncwarp();
      // online softmax of row lrow (fp32); masked entries are selected out, never multiplied
      unsigned vis = 0;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < kTile / 2; ++c) {
        const int col = half + 2 * c, f = kflag[col];
        if (row_ok && f != 0 && visible(samp_start, seg_start, oe, kt + col, f == 2)) {
          vis |= 1u << c;
          mx = fmaxf(mx, Sw[lrow * LDS + col] * c2);
        }
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      const float mn = fmaxf(m, mx);
      const float alpha = m == -INFINITY ? 0.f : exp2f(m - mn);  // m finite -> mn finite
      const float base = mn == -INFINITY ? 0.f : mn;
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < kTile / 2; ++c) {
        const int col = half + 2 * c;
        const float p = (vis >> c) & 1u ? exp2f(Sw[lrow * LDS + col] * c2 - base) : 0.f;
        Pw[lrow * LDP + col] = __float2bfloat16_rn(p);
        sum += p;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      l = l * alpha + sum;
      m = mn;
      if (half == 0) alpha_s[rr] = alpha;
      __syncwarp();
      // O = alpha O + P V
      float af[kNE];
#pragma unroll
      for (int e = 0; e < kNE; ++e) af[e] = alpha_s[warp * 16 + fc.row(e)];
#pragma unroll
      for (int n = 0; n < NF; ++n)
#pragma unroll
        for (int e = 0; e < kNE; ++e) o[n].x[e] *= af[e];
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        if (kt + kk * 16 >= k1) break;
        FragA pa;
        wmma::load_matrix_sync(pa, Pw + kk * 16, LDP);
#pragma unroll
        for (int n = 0; n < NF; ++n) {
          FragBRow vb;
          wmma::load_matrix_sync(vb, Vs + kk * 16 * LDH + n * 16, LDH);
          wmma::mma_sync(o[n], pa, vb, o[n]);
        }
      }
    }
  }
  // lse (natural log) and out = O / l; every real row sees at least itself, so l > 0
  if (half == 0) {
    l_s[rr] = l;
    if (row_ok) lse[static_cast<int64_t>(h) * N + i] = m * kLn2 + logf(l);
  }
  __syncwarp();
  if (!live) return;
#pragma unroll
  for (int e = 0; e < kNE; ++e) {
    const int row = r0 + warp * 16 + fc.row(e);
    if (row >= r1) continue;
    const float inv = 1.f / l_s[warp * 16 + fc.row(e)];
    float* dst = out + (static_cast<int64_t>(row) * H + h) * HD + fc.col(e);
#pragma unroll
    for (int n = 0; n < NF; ++n) dst[n * 16] = o[n].x[e] * inv;
  }
}

// ------------------------------------- tensor-core backward -----------------------------------------

// D[h*N + i] = sum_d dout[i,h,d] * out[i,h,d], one warp per (i, h)
__global__ void attn_rowdot_kernel(float* __restrict__ D, const float* __restrict__ dout, const float* __restrict__ out,
                                   int64_t N, int64_t H, int64_t hd) {
  const int64_t nw = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  const int lane = threadIdx.x % 32;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; w < N * H; w += nw) {
    const int64_t i = w / H, h = w % H;
    const float* a = dout + w * hd;
    const float* b = out + w * hd;
    float s = 0.f;
    for (int64_t d = lane; d < hd; d += 32) s += a[d] * b[d];
    s = warp_sum(s);
    if (lane == 0) D[h * N + i] = s;
  }
}

template <int HD>
struct DqSmem {
  static constexpr int qs = 0, dos = qs + tile_bytes(HD), ks = dos + tile_bytes(HD), vs = ks + tile_bytes(HD);
  static constexpr int ds = vs + tile_bytes(HD), probe = ds + kChunkBytes, kflag = probe + kProbeBytes;
  static constexpr int lse2 = kflag + kTile * 4, dd = lse2 + kTile * 4, bytes = dd + kTile * 4;
};

// dq = scale * sum_j dS_ij K_j; grid: (query tiles) x H, head fastest
template <int HD>
__global__ void __launch_bounds__(kThreads) attn_dq_tc_kernel(float* __restrict__ dq, const float* __restrict__ q,
                                                              const float* __restrict__ k, const float* __restrict__ v,
                                                              const float* __restrict__ dout,
                                                              const float* __restrict__ lse,
                                                              const float* __restrict__ rowdot,
                                                              const TokMeta* __restrict__ meta,
                                                              const Tile4* __restrict__ tiles, int N, int H, int Hkv,
                                                              float scale, float c2) {
  using L = DqSmem<HD>;
  constexpr int LDH = HD + 8, NF = HD / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem + L::qs);
  bf16* dOs = reinterpret_cast<bf16*>(smem + L::dos);
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::ks);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::vs);
  float* probe = reinterpret_cast<float*>(smem + L::probe);
  int* kflag = reinterpret_cast<int*>(smem + L::kflag);
  float* lse2_s = reinterpret_cast<float*>(smem + L::lse2);
  float* D_s = reinterpret_cast<float*>(smem + L::dd);

  const int warp = threadIdx.x / 32;
  const int h = static_cast<int>(blockIdx.x % H), g = h / (H / Hkv);
  const Tile4 t = tiles[blockIdx.x / H];
  const int r0 = t.a, r1 = t.b;
  const TokMeta m0 = meta[r0];
  const int samp_start = m0.samp_start, seg_start = m0.seg_start, kend = qtile_key_end(m0, r1);
  const bool live = r0 + warp * 16 < r1;
  bf16* dSw = reinterpret_cast<bf16*>(smem + L::ds) + warp * 16 * kChunkLd;

  fill_probe(probe);
  auto in_tile = [&](int i) { return i < r1; };
  stage_rows<HD>(Qs, q, H, h, r0, in_tile);
  stage_rows<HD>(dOs, dout, H, h, r0, in_tile);
  for (int r = threadIdx.x; r < kTile; r += kThreads) {
    const int i = r0 + r;
    lse2_s[r] = i < r1 ? lse[static_cast<int64_t>(h) * N + i] * kLog2e : 0.f;
    D_s[r] = i < r1 ? rowdot[static_cast<int64_t>(h) * N + i] : 0.f;
  }
  __syncthreads();
  const FragCoords fc = fragment_coords(probe);
  float le[kNE], de[kNE];
#pragma unroll
  for (int e = 0; e < kNE; ++e) {
    le[e] = lse2_s[warp * 16 + fc.row(e)];
    de[e] = D_s[warp * 16 + fc.row(e)];
  }
  FragC acc[NF];
#pragma unroll
  for (int n = 0; n < NF; ++n) wmma::fill_fragment(acc[n], 0.f);

  for (int kt = skip_noise(meta, seg_start, samp_start); kt < kend; kt = skip_noise(meta, seg_start, kt + kTile)) {
    const int k1 = min(kt + kTile, kend);
    __syncthreads();
    stage_keys<HD>(Ks, Vs, kflag, k, v, meta, Hkv, g, kt, k1, seg_start);
    __syncthreads();
    if (!live) continue;
#pragma unroll 1
    for (int kc = 0; kc < kTile / 16; ++kc) {
      if (kt + kc * 16 >= k1) break;
      FragC s, dp;
      wmma::fill_fragment(s, 0.f);
      wmma::fill_fragment(dp, 0.f);
#pragma unroll 2
      for (int kk = 0; kk < NF; ++kk) {  // no fragment array indexed by kk: partial unrolling is safe
        FragA a;
        FragBCol b;
        wmma::load_matrix_sync(a, Qs + warp * 16 * LDH + kk * 16, LDH);
        wmma::load_matrix_sync(b, Ks + kc * 16 * LDH + kk * 16, LDH);
        wmma::mma_sync(s, a, b, s);
        wmma::load_matrix_sync(a, dOs + warp * 16 * LDH + kk * 16, LDH);
        wmma::load_matrix_sync(b, Vs + kc * 16 * LDH + kk * 16, LDH);
        wmma::mma_sync(dp, a, b, dp);
      }
#pragma unroll
      for (int e = 0; e < kNE; ++e) {
        const int i = r0 + warp * 16 + fc.row(e), col = kc * 16 + fc.col(e), f = kflag[col];
        const bool vis = i < r1 && f != 0 && visible(samp_start, seg_start, own_end(m0, i), kt + col, f == 2);
        const float p = vis ? exp2f(s.x[e] * c2 - le[e]) : 0.f;
        const float ds = vis ? p * (dp.x[e] - de[e]) : 0.f;
        dSw[fc.row(e) * kChunkLd + fc.col(e)] = __float2bfloat16_rn(ds);
      }
      __syncwarp();
      FragA a;
      wmma::load_matrix_sync(a, dSw, kChunkLd);
#pragma unroll
      for (int n = 0; n < NF; ++n) {
        FragBRow b;
        wmma::load_matrix_sync(b, Ks + kc * 16 * LDH + n * 16, LDH);
        wmma::mma_sync(acc[n], a, b, acc[n]);
      }
      __syncwarp();  // dSw is rewritten by the next chunk
    }
  }
  if (!live) return;
#pragma unroll
  for (int e = 0; e < kNE; ++e) {
    const int row = r0 + warp * 16 + fc.row(e);
    if (row >= r1) continue;
    float* dst = dq + (static_cast<int64_t>(row) * H + h) * HD + fc.col(e);
#pragma unroll
    for (int n = 0; n < NF; ++n) dst[n * 16] = acc[n].x[e] * scale;
  }
}

template <int HD>
struct DkvSmem {
  static constexpr int ks = 0, vs = ks + tile_bytes(HD), qs = vs + tile_bytes(HD), dos = qs + tile_bytes(HD);
  static constexpr int pt = dos + tile_bytes(HD), dst = pt + kChunkBytes, probe = dst + kChunkBytes;
  static constexpr int qm = probe + kProbeBytes, lse2 = qm + kTile * 16, dd = lse2 + kTile * 4, bytes = dd + kTile * 4;
};

// dk = scale * sum dS^T Q, dv = sum P^T dO over the group's heads (in order) and the queries that see
// the key tile; grid: (key tiles) x Hkv, kv head fastest
template <int HD>
__global__ void __launch_bounds__(kThreads) attn_dkv_tc_kernel(float* __restrict__ dk, float* __restrict__ dv,
                                                               const float* __restrict__ q, const float* __restrict__ k,
                                                               const float* __restrict__ v,
                                                               const float* __restrict__ dout,
                                                               const float* __restrict__ lse,
                                                               const float* __restrict__ rowdot,
                                                               const TokMeta* __restrict__ meta,
                                                               const Tile4* __restrict__ tiles, int N, int H, int Hkv,
                                                               float scale, float c2) {
  using L = DkvSmem<HD>;
  constexpr int LDH = HD + 8, NF = HD / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Ks = reinterpret_cast<bf16*>(smem + L::ks);
  bf16* Vs = reinterpret_cast<bf16*>(smem + L::vs);
  bf16* Qs = reinterpret_cast<bf16*>(smem + L::qs);
  bf16* dOs = reinterpret_cast<bf16*>(smem + L::dos);
  float* probe = reinterpret_cast<float*>(smem + L::probe);
  int4* qm_s = reinterpret_cast<int4*>(smem + L::qm);  // per query row: samp_start, seg_start, own_end, valid
  float* lse2_s = reinterpret_cast<float*>(smem + L::lse2);
  float* D_s = reinterpret_cast<float*>(smem + L::dd);

  const int warp = threadIdx.x / 32;
  const int g = static_cast<int>(blockIdx.x % Hkv), group = H / Hkv;
  const Tile4 t = tiles[blockIdx.x / Hkv];
  const int c0 = t.a, c1 = t.b, qa = t.c, qb = t.d;
  const bool key_noise = meta[c0].mode == kAttnNoise;  // the tile is inside one segment
  const bool live = c0 + warp * 16 < c1;
  bf16* Pw = reinterpret_cast<bf16*>(smem + L::pt) + warp * 16 * kChunkLd;
  bf16* dSw = reinterpret_cast<bf16*>(smem + L::dst) + warp * 16 * kChunkLd;

  fill_probe(probe);
  auto in_tile = [&](int j) { return j < c1; };
  stage_rows<HD>(Ks, k, Hkv, g, c0, in_tile);
  stage_rows<HD>(Vs, v, Hkv, g, c0, in_tile);
  __syncthreads();
  const FragCoords fc = fragment_coords(probe);
  FragC dka[NF], dva[NF];
#pragma unroll
  for (int n = 0; n < NF; ++n) {
    wmma::fill_fragment(dka[n], 0.f);
    wmma::fill_fragment(dva[n], 0.f);
  }

#pragma unroll 1
  for (int hh = 0; hh < group; ++hh) {
    const int h = g * group + hh;
#pragma unroll 1
    for (int q0 = qa; q0 < qb; q0 += kTile) {
      const int q1 = min(q0 + kTile, qb);
      __syncthreads();  // the previous block's Q, dO and row data are no longer read
      auto in_block = [&](int i) { return i < q1; };
      stage_rows<HD>(Qs, q, H, h, q0, in_block);
      stage_rows<HD>(dOs, dout, H, h, q0, in_block);
      for (int r = threadIdx.x; r < kTile; r += kThreads) {
        const int i = q0 + r;
        if (i < q1) {
          const TokMeta mi = meta[i];
          qm_s[r] = make_int4(mi.samp_start, mi.seg_start, own_end(mi, i), 1);
          lse2_s[r] = lse[static_cast<int64_t>(h) * N + i] * kLog2e;
          D_s[r] = rowdot[static_cast<int64_t>(h) * N + i];
        } else {
          qm_s[r] = make_int4(0, 0, 0, 0);
          lse2_s[r] = 0.f;
          D_s[r] = 0.f;
        }
      }
      __syncthreads();
      if (!live) continue;
#pragma unroll 1
      for (int qc = 0; qc < kTile / 16; ++qc) {
        if (q0 + qc * 16 >= q1) break;
        FragC st, dpt;
        wmma::fill_fragment(st, 0.f);
        wmma::fill_fragment(dpt, 0.f);
#pragma unroll 2
        for (int kk = 0; kk < NF; ++kk) {
          FragA a;
          FragBCol b;
          wmma::load_matrix_sync(a, Ks + warp * 16 * LDH + kk * 16, LDH);
          wmma::load_matrix_sync(b, Qs + qc * 16 * LDH + kk * 16, LDH);
          wmma::mma_sync(st, a, b, st);
          wmma::load_matrix_sync(a, Vs + warp * 16 * LDH + kk * 16, LDH);
          wmma::load_matrix_sync(b, dOs + qc * 16 * LDH + kk * 16, LDH);
          wmma::mma_sync(dpt, a, b, dpt);
        }
#pragma unroll
        for (int e = 0; e < kNE; ++e) {
          const int j = c0 + warp * 16 + fc.row(e), iq = qc * 16 + fc.col(e);
          const int4 qm = qm_s[iq];
          const bool vis = j < c1 && qm.w != 0 && visible(qm.x, qm.y, qm.z, j, key_noise);
          const float p = vis ? exp2f(st.x[e] * c2 - lse2_s[iq]) : 0.f;
          const float ds = vis ? p * (dpt.x[e] - D_s[iq]) : 0.f;
          Pw[fc.row(e) * kChunkLd + fc.col(e)] = __float2bfloat16_rn(p);
          dSw[fc.row(e) * kChunkLd + fc.col(e)] = __float2bfloat16_rn(ds);
        }
        __syncwarp();
        FragA a;
        wmma::load_matrix_sync(a, Pw, kChunkLd);
#pragma unroll
        for (int n = 0; n < NF; ++n) {
          FragBRow b;
          wmma::load_matrix_sync(b, dOs + qc * 16 * LDH + n * 16, LDH);
          wmma::mma_sync(dva[n], a, b, dva[n]);
        }
        wmma::load_matrix_sync(a, dSw, kChunkLd);
#pragma unroll
        for (int n = 0; n < NF; ++n) {
          FragBRow b;
          wmma::load_matrix_sync(b, Qs + qc * 16 * LDH + n * 16, LDH);
          wmma::mma_sync(dka[n], a, b, dka[n]);
        }
        __syncwarp();  // Pw / dSw are rewritten by the next chunk
      }
    }
  }
  if (!live) return;
#pragma unroll
  for (int e = 0; e < kNE; ++e) {
    const int j = c0 + warp * 16 + fc.row(e);
    if (j >= c1) continue;
    const int64_t off = (static_cast<int64_t>(j) * Hkv + g) * HD + fc.col(e);
#pragma unroll
    for (int n = 0; n < NF; ++n) {
      dk[off + n * 16] = dka[n].x[e] * scale;
      dv[off + n * 16] = dva[n].x[e];
    }
  }
}

// ------------------------------------- SIMT fallback (fp32) -----------------------------------------
// One warp per row; lane l holds dims 2l + 64t and 2l + 64t + 1 (t < 4), head_dim even and <= 256.
constexpr int kSimtPairs = 4;

__device__ inline void load_row(float* r, const float* __restrict__ src, int lane, int hd) {
#pragma unroll
  for (int t = 0; t < kSimtPairs; ++t) {
    const int d = 2 * lane + 64 * t;
    r[2 * t] = d < hd ? src[d] : 0.f;
    r[2 * t + 1] = d < hd ? src[d + 1] : 0.f;
  }
}
__device__ inline float dot_part(const float* r, const float* __restrict__ src, int lane, int hd) {
  float s = 0.f;
#pragma unroll
  for (int t = 0; t < kSimtPairs; ++t) {
    const int d = 2 * lane + 64 * t;
    if (d < hd) s += r[2 * t] * src[d] + r[2 * t + 1] * src[d + 1];
  }
  return s;
}
__device__ inline void axpy_row(float* r, float a, const float* __restrict__ src, int lane, int hd) {
#pragma unroll
  for (int t = 0; t < kSimtPairs; ++t) {
    const int d = 2 * lane + 64 * t;
    if (d < hd) {
      r[2 * t] += a * src[d];
      r[2 * t + 1] += a * src[d + 1];
    }
  }
}
__device__ inline void store_row(float* __restrict__ dst, const float* r, float a, int lane, int hd) {
#pragma unroll
  for (int t = 0; t < kSimtPairs; ++t) {
    const int d = 2 * lane + 64 * t;
    if (d < hd) {
      dst[d] = r[2 * t] * a;
      dst[d + 1] = r[2 * t + 1] * a;
    }
  }
}

__global__ void attn_fwd_simt_kernel(float* __restrict__ out, float* __restrict__ lse, const float* __restrict__ q,
                                     const float* __restrict__ k, const float* __restrict__ v,
                                     const TokMeta* __restrict__ meta, int N, int H, int Hkv, int hd, float c2) {
  const int64_t nw = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  const int lane = threadIdx.x % 32, group = H / Hkv;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; w < static_cast<int64_t>(N) * H;
       w += nw) {
    const int i = static_cast<int>(w / H), h = static_cast<int>(w % H), g = h / group;
    float qr[2 * kSimtPairs], o[2 * kSimtPairs] = {};
    load_row(qr, q + w * hd, lane, hd);
    const TokMeta mi = meta[i];
    const int oe = own_end(mi, i);
    float m = -INFINITY, l = 0.f;
    for (int j = skip_noise(meta, mi.seg_start, mi.samp_start); j < oe; j = skip_noise(meta, mi.seg_start, j + 1)) {
      const int64_t kv = (static_cast<int64_t>(j) * Hkv + g) * hd;
      const float s = warp_sum(dot_part(qr, k + kv, lane, hd)) * c2;
      const float mn = fmaxf(m, s);
      const float alpha = m == -INFINITY ? 0.f : exp2f(m - mn);
      const float p = exp2f(s - mn);
      l = l * alpha + p;
      m = mn;
#pragma unroll
      for (int x = 0; x < 2 * kSimtPairs; ++x) o[x] *= alpha;
      axpy_row(o, p, v + kv, lane, hd);
    }
    store_row(out + w * hd, o, 1.f / l, lane, hd);
    if (lane == 0) lse[static_cast<int64_t>(h) * N + i] = m * kLn2 + logf(l);
  }
}

__global__ void attn_dq_simt_kernel(float* __restrict__ dq, const float* __restrict__ q, const float* __restrict__ k,
                                    const float* __restrict__ v, const float* __restrict__ dout,
                                    const float* __restrict__ lse, const float* __restrict__ rowdot,
                                    const TokMeta* __restrict__ meta, int N, int H, int Hkv, int hd, float scale,
                                    float c2) {
  const int64_t nw = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  const int lane = threadIdx.x % 32, group = H / Hkv;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; w < static_cast<int64_t>(N) * H;
       w += nw) {
    const int i = static_cast<int>(w / H), h = static_cast<int>(w % H), g = h / group;
    float qr[2 * kSimtPairs], dor[2 * kSimtPairs], acc[2 * kSimtPairs] = {};
    load_row(qr, q + w * hd, lane, hd);
    load_row(dor, dout + w * hd, lane, hd);
    const float l2 = lse[static_cast<int64_t>(h) * N + i] * kLog2e, Di = rowdot[static_cast<int64_t>(h) * N + i];
    const TokMeta mi = meta[i];
    const int oe = own_end(mi, i);
    for (int j = skip_noise(meta, mi.seg_start, mi.samp_start); j < oe; j = skip_noise(meta, mi.seg_start, j + 1)) {
      const int64_t kv = (static_cast<int64_t>(j) * Hkv + g) * hd;
      const float s = warp_sum(dot_part(qr, k + kv, lane, hd));
      const float dp = warp_sum(dot_part(dor, v + kv, lane, hd));
      const float p = exp2f(s * c2 - l2);
      axpy_row(acc, p * (dp - Di), k + kv, lane, hd);
    }
    store_row(dq + w * hd, acc, scale, lane, hd);
  }
}

__global__ void attn_dkv_simt_kernel(float* __restrict__ dk, float* __restrict__ dv, const float* __restrict__ q,
                                     const float* __restrict__ k, const float* __restrict__ v,
                                     const float* __restrict__ dout, const float* __restrict__ lse,
                                     const float* __restrict__ rowdot, const TokMeta* __restrict__ meta, int N, int H,
                                     int Hkv, int hd, float scale, float c2) {
  const int64_t nw = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  const int lane = threadIdx.x % 32, group = H / Hkv;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
       w < static_cast<int64_t>(N) * Hkv; w += nw) {
    const int j = static_cast<int>(w / Hkv), g = static_cast<int>(w % Hkv);
    float kr[2 * kSimtPairs], vr[2 * kSimtPairs], dka[2 * kSimtPairs] = {}, dva[2 * kSimtPairs] = {};
    load_row(kr, k + w * hd, lane, hd);
    load_row(vr, v + w * hd, lane, hd);
    const TokMeta mj = meta[j];
    const int qa = key_query_begin(mj, j), qb = key_query_end(mj);
    for (int hh = 0; hh < group; ++hh) {
      const int h = g * group + hh;
      for (int i = qa; i < qb; ++i) {
        if (!visible_tok(meta, i, j)) continue;  // never taken: [qa, qb) is exact
        const int64_t qo = (static_cast<int64_t>(i) * H + h) * hd;
        const float s = warp_sum(dot_part(kr, q + qo, lane, hd));
        const float dp = warp_sum(dot_part(vr, dout + qo, lane, hd));
        const float p = exp2f(s * c2 - lse[static_cast<int64_t>(h) * N + i] * kLog2e);
        axpy_row(dva, p, dout + qo, lane, hd);
        axpy_row(dka, p * (dp - rowdot[static_cast<int64_t>(h) * N + i]), q + qo, lane, hd);
      }
    }
    store_row(dk + w * hd, dka, scale, lane, hd);
    store_row(dv + w * hd, dva, 1.f, lane, hd);
  }
}

// ------------------------------------- host side ----------------------------------------------------

// The uploaded plan (metadata and tile lists) of the last segment table, and the backward's D buffer.
// Both are grown, never shrunk, and kept for the process (no cudaFree at exit, after the driver's teardown).
// The mutex covers the whole op call: the plan is not rewritten while another thread is launching from it.
struct DevCache {
  std::mutex mu;
  bool valid = false;
  std::vector<int32_t> seg;  // the table the plan was built from
  int64_t N = -1;
  void* plan = nullptr;
  size_t plan_cap = 0;
  int64_t nq = 0, nk = 0;
  size_t q_off = 0, k_off = 0;
  void* rowdot = nullptr;
  size_t rowdot_cap = 0;
};
DevCache& dev_cache() {
  static DevCache* c = new DevCache;
  return *c;
}

Status grow(const char* op, void** p, size_t* cap, size_t bytes) {
  if (bytes <= *cap) return Status::Ok();
  const size_t want = std::max(bytes, *cap + *cap / 2);
  if (*p) {
    const cudaError_t e = cudaFree(*p);  // synchronizes: no kernel still reads it
    *p = nullptr;
    *cap = 0;
    MC_RETURN_IF_ERROR(cuda_status(op, e));
  }
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMalloc(p, want)));
  *cap = want;
  return Status::Ok();
}

struct Plan {
  const TokMeta* meta;
  const Tile4* qtiles;
  const Tile4* ktiles;
  int64_t nq, nk;
};

// Copies seg to the host, checks it as the CPU does, and makes sure the device plan is built from it.
// The table may also be passed in host memory (seg.device == CPU: the MoT model keeps a host copy),
// which spares the copy and its wait for the queued kernels.
Status prepare(const char* op, const TensorView& seg, const AttnShape& d, DevCache& c, Plan* pl) {
  std::vector<int32_t> host(static_cast<size_t>(d.S * 4));
  if (d.S > 0 && seg.device == Device::CPU)
    std::memcpy(host.data(), seg.data, host.size() * sizeof(int32_t));
  else if (d.S > 0)
    MC_RETURN_IF_ERROR(
        cuda_status(op, cudaMemcpy(host.data(), seg.data, host.size() * sizeof(int32_t), cudaMemcpyDefault)));
  MC_RETURN_IF_ERROR(attention_check_segments(op, host.data(), d.S, d.N));
  if (d.N == 0) return Status::Ok();
  if (!(c.valid && c.N == d.N && c.seg == host)) {
    c.valid = false;
    HostPlan hp;
    build_plan(host.data(), d.S, d.N, &hp);
    const size_t mb = hp.meta.size() * sizeof(TokMeta), qb = hp.qtiles.size() * sizeof(Tile4),
                 kb = hp.ktiles.size() * sizeof(Tile4);
    std::vector<unsigned char> buf(mb + qb + kb);
    std::memcpy(buf.data(), hp.meta.data(), mb);
    std::memcpy(buf.data() + mb, hp.qtiles.data(), qb);
    std::memcpy(buf.data() + mb + qb, hp.ktiles.data(), kb);
    MC_RETURN_IF_ERROR(grow(op, &c.plan, &c.plan_cap, buf.size()));
    // stream-ordered after the kernels already launched on the default stream
    MC_RETURN_IF_ERROR(cuda_status(op, cudaMemcpy(c.plan, buf.data(), buf.size(), cudaMemcpyHostToDevice)));
    c.seg.swap(host);
    c.N = d.N;
    c.nq = static_cast<int64_t>(hp.qtiles.size());
    c.nk = static_cast<int64_t>(hp.ktiles.size());
    c.q_off = mb;
    c.k_off = mb + qb;
    c.valid = true;
  }
  const unsigned char* base = static_cast<const unsigned char*>(c.plan);
  pl->meta = reinterpret_cast<const TokMeta*>(base);
  pl->qtiles = reinterpret_cast<const Tile4*>(base + c.q_off);
  pl->ktiles = reinterpret_cast<const Tile4*>(base + c.k_off);
  pl->nq = c.nq;
  pl->nk = c.nk;
  return Status::Ok();
}

// The tensor-core path: head_dim a multiple of 16 up to 128, float4-aligned inputs, not disabled.
bool use_tensor_cores(const AttnShape& d, std::initializer_list<const void*> inputs) {
  if (d.hd % 16 != 0 || d.hd > 128) return false;
  if (const char* e = std::getenv("METACOT_ATTN_CUDA"))
    if (std::strcmp(e, "simt") == 0) return false;
  for (const void* p : inputs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

Status grid_of(const char* op, int64_t tiles, int64_t heads, unsigned* grid) {
  const int64_t n = tiles * heads;
  if (n > std::numeric_limits<int32_t>::max())
    return Status::Error(Code::E_ARG, std::string(op) + ": " + std::to_string(n) + " (tile, head) work items exceed the grid");
  *grid = static_cast<unsigned>(n);
  return Status::Ok();
}

template <typename Kernel>
Status set_smem(const char* op, Kernel kernel, int bytes) {
  return cuda_status(op, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
}

template <int HD>
Status fwd_tc(const char* op, const OpArgs& a, const AttnShape& d, const Plan& pl) {
  unsigned grid;
  MC_RETURN_IF_ERROR(grid_of(op, pl.nq, d.H, &grid));
  constexpr int bytes = FwdSmem<HD>::bytes;
  MC_RETURN_IF_ERROR(set_smem(op, attn_fwd_tc_kernel<HD>, bytes));
  attn_fwd_tc_kernel<HD><<<grid, kThreads, bytes>>>(a.t[4].f32(), a.t[5].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(),
                                                    pl.meta, pl.qtiles, static_cast<int>(d.N), static_cast<int>(d.H),
                                                    static_cast<int>(d.Hkv), d.scale * kLog2e);
  return cuda_launch_status(op);
}

template <int HD>
Status bwd_tc(const char* op, const OpArgs& a, const AttnShape& d, const Plan& pl, const float* rowdot) {
  unsigned gq, gk;
  MC_RETURN_IF_ERROR(grid_of(op, pl.nq, d.H, &gq));
  MC_RETURN_IF_ERROR(grid_of(op, pl.nk, d.Hkv, &gk));
  const int N = static_cast<int>(d.N), H = static_cast<int>(d.H), Hkv = static_cast<int>(d.Hkv);
  const float c2 = d.scale * kLog2e;
  const float *q = a.t[0].f32(), *k = a.t[1].f32(), *v = a.t[2].f32(), *lse = a.t[5].f32(), *dout = a.t[6].f32();
  constexpr int bq = DqSmem<HD>::bytes, bk = DkvSmem<HD>::bytes;
  MC_RETURN_IF_ERROR(set_smem(op, attn_dq_tc_kernel<HD>, bq));
  MC_RETURN_IF_ERROR(set_smem(op, attn_dkv_tc_kernel<HD>, bk));
  attn_dq_tc_kernel<HD><<<gq, kThreads, bq>>>(a.t[7].f32(), q, k, v, dout, lse, rowdot, pl.meta, pl.qtiles, N, H, Hkv,
                                              d.scale, c2);
  MC_RETURN_IF_ERROR(cuda_launch_status(op));
  attn_dkv_tc_kernel<HD><<<gk, kThreads, bk>>>(a.t[8].f32(), a.t[9].f32(), q, k, v, dout, lse, rowdot, pl.meta,
                                               pl.ktiles, N, H, Hkv, d.scale, c2);
  return cuda_launch_status(op);
}

#define MC_ATTN_HD_CASES(F, ...) \
  case 16: return F<16>(__VA_ARGS__);   \
  case 32: return F<32>(__VA_ARGS__);   \
  case 48: return F<48>(__VA_ARGS__);   \
  case 64: return F<64>(__VA_ARGS__);   \
  case 80: return F<80>(__VA_ARGS__);   \
  case 96: return F<96>(__VA_ARGS__);   \
  case 112: return F<112>(__VA_ARGS__); \
  case 128: return F<128>(__VA_ARGS__);

constexpr int kSimtBlock = 128;  // 4 rows per block

}  // namespace

Status op_attention_forward_cuda(const OpArgs& a) {
  const char* op = "attention_forward";
  AttnShape d;
  MC_RETURN_IF_ERROR(attention_check_args(a, false, &d));
  DevCache& c = dev_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  Plan pl;
  MC_RETURN_IF_ERROR(prepare(op, a.t[3], d, c, &pl));
  if (d.N == 0) return Status::Ok();
  if (use_tensor_cores(d, {a.t[0].data, a.t[1].data, a.t[2].data})) {
    switch (d.hd) { MC_ATTN_HD_CASES(fwd_tc, op, a, d, pl) }
  }
  attn_fwd_simt_kernel<<<grid_for(d.N * d.H * 32, kSimtBlock), kSimtBlock>>>(
      a.t[4].f32(), a.t[5].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), pl.meta, static_cast<int>(d.N),
      static_cast<int>(d.H), static_cast<int>(d.Hkv), static_cast<int>(d.hd), d.scale * kLog2e);
  return cuda_launch_status(op);
}

Status op_attention_backward_cuda(const OpArgs& a) {
  const char* op = "attention_backward";
  AttnShape d;
  MC_RETURN_IF_ERROR(attention_check_args(a, true, &d));
  DevCache& c = dev_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  Plan pl;
  MC_RETURN_IF_ERROR(prepare(op, a.t[3], d, c, &pl));
  if (d.N == 0) return Status::Ok();
  MC_RETURN_IF_ERROR(grow(op, &c.rowdot, &c.rowdot_cap, static_cast<size_t>(d.H * d.N) * sizeof(float)));
  float* rowdot = static_cast<float*>(c.rowdot);
  attn_rowdot_kernel<<<grid_for(d.N * d.H * 32, kSimtBlock), kSimtBlock>>>(rowdot, a.t[6].f32(), a.t[4].f32(), d.N,
                                                                         d.H, d.hd);
  MC_RETURN_IF_ERROR(cuda_launch_status(op));
  if (use_tensor_cores(d, {a.t[0].data, a.t[1].data, a.t[2].data, a.t[6].data})) {
    switch (d.hd) { MC_ATTN_HD_CASES(bwd_tc, op, a, d, pl, rowdot) }
  }
  const int N = static_cast<int>(d.N), H = static_cast<int>(d.H), Hkv = static_cast<int>(d.Hkv),
            hd = static_cast<int>(d.hd);
  const float c2 = d.scale * kLog2e;
  const float *q = a.t[0].f32(), *k = a.t[1].f32(), *v = a.t[2].f32(), *lse = a.t[5].f32(), *dout = a.t[6].f32();
  attn_dq_simt_kernel<<<grid_for(d.N * d.H * 32, kSimtBlock), kSimtBlock>>>(a.t[7].f32(), q, k, v, dout, lse, rowdot,
                                                                          pl.meta, N, H, Hkv, hd, d.scale, c2);
  MC_RETURN_IF_ERROR(cuda_launch_status(op));
  attn_dkv_simt_kernel<<<grid_for(d.N * d.Hkv * 32, kSimtBlock), kSimtBlock>>>(
      a.t[8].f32(), a.t[9].f32(), q, k, v, dout, lse, rowdot, pl.meta, N, H, Hkv, hd, d.scale, c2);
  return cuda_launch_status(op);
}

#undef MC_ATTN_HD_CASES

}  // namespace mc
