#include "dispatch.h"

#include <cstring>
#include <string>
#include <vector>

#include "../../kernels/ops.h"
#include "rows.h"

namespace mc {
namespace {

// Op-table indices, looked up by name once (the table's order is stable within a build).
enum OpId {
  kGemm, kGemmGrouped, kBiasAdd, kBiasGrad, kAdd, kSiluF, kSiluB, kRmsF, kRmsB, kRopeF, kRopeB, kAttnF, kAttnB, kSwigluF, kSwigluB,
  kEmbF, kEmbB, kTimestep, kCrossEntropy, kMseF, kMseB, kOpCount
};
const char* const kNames[kOpCount] = {"gemm",           "gemm_grouped",      "bias_add",          "bias_grad",          "add",
                                      "silu_forward",   "silu_backward",     "rmsnorm_forward",    "rmsnorm_backward",
                                      "rope_forward",   "rope_backward",     "attention_forward",  "attention_backward",
                                      "swiglu_forward", "swiglu_backward",   "embedding_forward",  "embedding_backward",
                                      "timestep_embedding", "cross_entropy", "mse_forward",        "mse_backward"};

const OpDef* const* op_defs() {
  // built once, thread-safely (a function-local static), on the first call from any model
  struct Table {
    const OpDef* defs[kOpCount] = {};
    Table() {
      int count = 0;
      const OpDef* table = op_table(&count);
      for (int k = 0; k < kOpCount; ++k)
        for (int i = 0; i < count; ++i)
          if (std::strcmp(table[i].name, kNames[k]) == 0) defs[k] = &table[i];
    }
  };
  static const Table t;
  return t.defs;
}

}  // namespace

Dispatch::Dispatch(Device d) : dev_(d) {}

TensorView Dispatch::f32(const float* p, std::initializer_list<int64_t> shape) const {
  TensorView v;
  v.data = const_cast<float*>(p);
  v.dtype = DType::F32;
  v.device = dev_;
  for (int64_t s : shape) v.shape[v.ndim++] = s;
  return v;
}

TensorView Dispatch::i32(const int32_t* p, std::initializer_list<int64_t> shape) const {
  TensorView v = f32(nullptr, shape);
  v.data = const_cast<int32_t*>(p);
  v.dtype = DType::I32;
  return v;
}

TensorView Dispatch::host_i32(const int32_t* p, std::initializer_list<int64_t> shape) const {
  TensorView v = i32(p, shape);
  v.device = Device::CPU;
  return v;
}

Status Dispatch::run(int op, std::initializer_list<TensorView> t, std::initializer_list<int64_t> i,
                     std::initializer_list<double> f) {
  return run_args(op, t.begin(), static_cast<int>(t.size()), i.begin(), static_cast<int>(i.size()), f.begin(),
                  static_cast<int>(f.size()));
}

Status Dispatch::run_args(int op, const TensorView* t, int nt, const int64_t* i, int ni, const double* f, int nf) {
  const OpDef* def = op_defs()[op];
  if (!def) return Status::Error(Code::E_ARG, std::string("model: the op table has no '") + kNames[op] + "'");
  OpFn fn = dev_ == Device::CPU ? def->cpu : def->cuda;
  if (!fn)
    return Status::Error(Code::E_DEVICE, std::string("model: no ") + (dev_ == Device::CPU ? "CPU" : "CUDA") +
                                             " kernel for '" + kNames[op] + "' in this build");
  OpArgs a;
  a.t = t;
  a.nt = nt;
  a.i = i;
  a.ni = ni;
  a.f = f;
  a.nf = nf;
  return fn(a);
}

Status Dispatch::linear_fwd(float* y, const float* x, const float* W, const float* b, int64_t R, int64_t in,
                            int64_t out, float beta) {
  if (R == 0) return Status::Ok();
  MC_RETURN_IF_ERROR(gemm(false, true, R, out, in, 1.f, x, W, beta, y));
  if (b) MC_RETURN_IF_ERROR(bias_add(y, y, b, R, out));
  return Status::Ok();
}

Status Dispatch::linear_bwd(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t R,
                            int64_t in, int64_t out, bool dx_accumulate) {
  if (R == 0) return Status::Ok();
  if (dW) MC_RETURN_IF_ERROR(gemm(true, false, out, in, R, 1.f, dy, x, 1.f, dW));
  if (db) MC_RETURN_IF_ERROR(bias_grad(db, dy, R, out, true));
  if (dx) MC_RETURN_IF_ERROR(gemm(false, false, R, in, out, 1.f, dy, W, dx_accumulate ? 1.f : 0.f, dx));
  return Status::Ok();
}

Status Dispatch::linear_fwd_grouped(const Lin* g, int G, int64_t in, int64_t out, float beta) {
  if (G < 1 || G > kMaxGroups) return Status::Error(Code::E_ARG, "model: linear over " + std::to_string(G) + " groups");
  Products p;
  for (int i = 0; i < G; ++i) p.add(g[i].x, g[i].W, g[i].y, g[i].R, out, in);
  MC_RETURN_IF_ERROR(gemm_grouped(false, true, p, 1.f, beta));
  for (int i = 0; i < G; ++i)
    if (g[i].b && g[i].R) MC_RETURN_IF_ERROR(bias_add(g[i].y, g[i].y, g[i].b, g[i].R, out));
  return Status::Ok();
}

Status Dispatch::linear_bwd_grouped(const LinGrad* g, int G, int64_t in, int64_t out, bool dx_accumulate) {
  if (G < 1 || G > kMaxGroups) return Status::Error(Code::E_ARG, "model: linear over " + std::to_string(G) + " groups");
  Products dw, dx;  // dW_g[out, in] += dy_g[R, out]^T x_g[R, in]; dx_g[R, in] (+)= dy_g[R, out] W_g[out, in]
  for (int i = 0; i < G; ++i) {
    if (!g[i].R) continue;
    if (g[i].dW) dw.add(g[i].dy, g[i].x, g[i].dW, out, in, g[i].R);
    if (g[i].dx) dx.add(g[i].dy, g[i].W, g[i].dx, g[i].R, in, out);
  }
  if (dw.G) MC_RETURN_IF_ERROR(gemm_grouped(true, false, dw, 1.f, 1.f));
  for (int i = 0; i < G; ++i)
    if (g[i].db && g[i].R) MC_RETURN_IF_ERROR(bias_grad(g[i].db, g[i].dy, g[i].R, out, true));
  if (dx.G) MC_RETURN_IF_ERROR(gemm_grouped(false, false, dx, 1.f, dx_accumulate ? 1.f : 0.f));
  return Status::Ok();
}

Status Dispatch::gemm_grouped(bool ta, bool tb, const Products& p, float alpha, float beta) {
  const int G = p.G;
  if (G < 1 || G > kMaxGroups) return Status::Error(Code::E_ARG, "model: gemm_grouped with " + std::to_string(G) + " groups");
  TensorView views[3 * kMaxGroups];
  int64_t ints[3 + 3 * kMaxGroups];
  ints[0] = G;
  ints[1] = ta ? 1 : 0;
  ints[2] = tb ? 1 : 0;
  for (int i = 0; i < G; ++i) {
    views[i] = f32(p.A[i], {p.M[i] * p.K[i]});
    views[G + i] = f32(p.B[i], {p.K[i] * p.N[i]});
    views[2 * G + i] = f32(p.C[i], {p.M[i] * p.N[i]});
    ints[3 + i] = p.M[i];
    ints[3 + G + i] = p.N[i];
    ints[3 + 2 * G + i] = p.K[i];
  }
  const double floats[2] = {alpha, beta};
  return run_args(kGemmGrouped, views, 3 * G, ints, 3 + 3 * G, floats, 2);
}

Status Dispatch::gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
                      float beta, float* C) {
  return run(kGemm, {f32(A, {M * K}), f32(B, {K * N}), f32(C, {M * N})},
             {ta ? 1 : 0, tb ? 1 : 0, M, N, K, 1, 0, 0, 0}, {alpha, beta});
}
Status Dispatch::bias_add(float* out, const float* x, const float* b, int64_t N, int64_t D) {
  return run(kBiasAdd, {f32(x, {N, D}), f32(b, {D}), f32(out, {N, D})}, {}, {});
}
Status Dispatch::bias_grad(float* db, const float* dy, int64_t N, int64_t D, bool accumulate) {
  return run(kBiasGrad, {f32(dy, {N, D}), f32(db, {D})}, {accumulate ? 1 : 0}, {});
}
Status Dispatch::add(float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  return run(kAdd, {f32(a, {n}), f32(b, {n}), f32(out, {n})}, {}, {alpha, beta});
}
Status Dispatch::silu_forward(float* y, const float* x, int64_t n) {
  return run(kSiluF, {f32(x, {n}), f32(y, {n})}, {}, {});
}
Status Dispatch::silu_backward(float* dx, const float* x, const float* dy, int64_t n, bool accumulate) {
  return run(kSiluB, {f32(x, {n}), f32(dy, {n}), f32(dx, {n})}, {accumulate ? 1 : 0}, {});
}
Status Dispatch::rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t D, float eps) {
  return run(kRmsF, {f32(x, {R, D}), f32(w, {D}), f32(y, {R, D}), f32(rstd, {R})}, {}, {eps});
}
Status Dispatch::rmsnorm_backward(float* dx, float* dw, const float* x, const float* w, const float* rstd,
                                  const float* dy, int64_t R, int64_t D, bool accumulate_dw) {
  return run(kRmsB, {f32(x, {R, D}), f32(w, {D}), f32(rstd, {R}), f32(dy, {R, D}), f32(dx, {R, D}), f32(dw, {D})},
             {accumulate_dw ? 1 : 0}, {});
}
Status Dispatch::rope(float* y, const float* x, const int32_t* pos, int64_t N, int64_t H, int64_t hd, double theta,
                      bool backward) {
  return run(backward ? kRopeB : kRopeF, {f32(x, {N, H, hd}), i32(pos, {N}), f32(y, {N, H, hd})}, {}, {theta});
}
Status Dispatch::attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                   const int32_t* seg_host, int64_t S, int64_t N, int64_t H, int64_t Hkv, int64_t hd,
                                   float scale) {
  return run(kAttnF,
             {f32(q, {N, H, hd}), f32(k, {N, Hkv, hd}), f32(v, {N, Hkv, hd}), host_i32(seg_host, {S, 4}), f32(out, {N, H, hd}),
              f32(lse, {H, N})},
             {}, {scale});
}
Status Dispatch::attention_backward(float* dq, float* dk, float* dv, const float* q, const float* k, const float* v,
                                    const int32_t* seg_host, int64_t S, const float* out, const float* lse,
                                    const float* dout, int64_t N, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  return run(kAttnB,
             {f32(q, {N, H, hd}), f32(k, {N, Hkv, hd}), f32(v, {N, Hkv, hd}), host_i32(seg_host, {S, 4}), f32(out, {N, H, hd}),
              f32(lse, {H, N}), f32(dout, {N, H, hd}), f32(dq, {N, H, hd}), f32(dk, {N, Hkv, hd}),
              f32(dv, {N, Hkv, hd})},
             {}, {scale});
}
Status Dispatch::swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
  return run(kSwigluF, {f32(gate, {n}), f32(up, {n}), f32(h, {n})}, {}, {});
}
Status Dispatch::swiglu_backward(float* dgate, float* dup, const float* gate, const float* up, const float* dh,
                                 int64_t n) {
  return run(kSwigluB, {f32(gate, {n}), f32(up, {n}), f32(dh, {n}), f32(dgate, {n}), f32(dup, {n})}, {}, {});
}
Status Dispatch::embedding_forward(float* out, const int32_t* ids, const float* table, int64_t N, int64_t V, int64_t D) {
  if (N == 0) return Status::Ok();
  return run(kEmbF, {i32(ids, {N}), f32(table, {V, D}), f32(out, {N, D})}, {}, {});
}
Status Dispatch::embedding_backward(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t V,
                                    int64_t D) {
  if (N == 0) return Status::Ok();
  return run(kEmbB, {i32(ids, {N}), f32(dout, {N, D}), f32(dtable, {V, D})}, {}, {});
}
Status Dispatch::timestep_embedding(float* out, const float* t, int64_t N, int64_t dim, double max_period) {
  return run(kTimestep, {f32(t, {N}), f32(out, {N, dim})}, {}, {max_period});
}
Status Dispatch::cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t M,
                               int64_t V, float grad_scale) {
  return run(kCrossEntropy, {f32(logits, {M, V}), i32(targets, {M}), f32(losses, {M}), f32(dlogits, {M, V})}, {},
             {grad_scale});
}
Status Dispatch::mse_forward(float* loss_host, const float* pred, const float* target, const float* mask, int64_t N,
                             int64_t C) {
  MC_RETURN_IF_ERROR(loss1_.resize(dev_, 1));
  MC_RETURN_IF_ERROR(run(kMseF, {f32(pred, {N, C}), f32(target, {N, C}), f32(mask, {N}), f32(loss1_.data(), {1})}, {}, {}));
  return loss1_.download(loss_host, 1);
}
Status Dispatch::mse_backward(float* dpred, const float* pred, const float* target, const float* mask, int64_t N,
                              int64_t C, float grad_scale) {
  return run(kMseB, {f32(pred, {N, C}), f32(target, {N, C}), f32(mask, {N}), f32(dpred, {N, C})}, {}, {grad_scale});
}

Status Dispatch::copy_rows(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n,
                           int64_t D, bool add) {
  if (n <= 0) return Status::Ok();
  if (dev_ == Device::CPU) {
    copy_rows_cpu(dst, dst_idx, src, src_idx, n, D, add);
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return copy_rows_cuda(dst, dst_idx, src, src_idx, n, D, add);
#else
  return Status::Error(Code::E_DEVICE, "model: this addon was built without CUDA");
#endif
}

Status Dispatch::add_rows(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D) {
  if (n <= 0) return Status::Ok();
  if (dev_ == Device::CPU) {
    add_rows_cpu(dst, table, idx, n, D);
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return add_rows_cuda(dst, table, idx, n, D);
#else
  return Status::Error(Code::E_DEVICE, "model: this addon was built without CUDA");
#endif
}

}  // namespace mc
