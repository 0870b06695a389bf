// Dispatch: the model's kernels on one device, by the CPU kernels' names and argument orders (llm.c
// style: the layer code is written once; this picks the CPU or CUDA implementation). Each call goes
// through the op table's adapter for the device (kernels/op_table.cc), so the model runs exactly the
// kernels that the op tests check against float64 references and the CUDA parity suite checks
// against the CPU, with their argument checks as a guard. Pointers are device memory of the
// dispatch's device. A few row moves that only the model needs (gathers between expert and sequence
// order, position-table adds) are model-private kernels here (rows.h), CPU and CUDA.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "../../kernels/common/status.h"
#include "../../kernels/common/tensor.h"
#include "devbuf.h"

namespace mc {

class Dispatch {
 public:
  explicit Dispatch(Device d);
  Device device() const { return dev_; }

  // y[R,out] = x[R,in] W[out,in]^T (+ b); beta 1 accumulates into y. R == 0 does nothing.
  Status linear_fwd(float* y, const float* x, const float* W, const float* b, int64_t R, int64_t in, int64_t out,
                    float beta = 0.f);
  // dW += dy^T x, db += colsum(dy), dx (+)= dy W; any of dx / dW / db may be null.
  Status linear_bwd(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t R,
                    int64_t in, int64_t out, bool dx_accumulate);

  // The same linear layer of several experts over their own rows in one grouped product (one launch on
  // a GPU): group g computes y_g = x_g W_g^T (+ b_g) over R_g rows; groups with R_g = 0 are skipped.
  struct Lin {
    float* y;
    const float* x;
    const float* W;
    const float* b;
    int64_t R;
  };
  Status linear_fwd_grouped(const Lin* g, int G, int64_t in, int64_t out, float beta = 0.f);
  // Its backward, grouped the same way: dW_g += dy_g^T x_g, db_g += colsum(dy_g), dx_g (+)= dy_g W_g;
  // a null dW / db / dx skips that part of the group.
  struct LinGrad {
    float* dx;
    float* dW;
    float* db;
    const float* dy;
    const float* x;
    const float* W;
    int64_t R;
  };
  Status linear_bwd_grouped(const LinGrad* g, int G, int64_t in, int64_t out, bool dx_accumulate);

  Status gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B, float beta,
              float* C);
  // Up to 8 products sharing the transposes, alpha and beta: C_g = alpha op(A_g) op(B_g) + beta C_g
  // with op(A_g) M x K, op(B_g) K x N.
  struct Products {
    const float* A[8];
    const float* B[8];
    float* C[8];
    int64_t M[8], N[8], K[8];
    int G = 0;
    void add(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
      A[G] = a;
      B[G] = b;
      C[G] = c;
      M[G] = m;
      N[G] = n;
      K[G] = k;
      ++G;
    }
  };
  Status gemm_grouped(bool ta, bool tb, const Products& p, float alpha, float beta);
  Status bias_add(float* out, const float* x, const float* b, int64_t N, int64_t D);
  Status bias_grad(float* db, const float* dy, int64_t N, int64_t D, bool accumulate);
  Status add(float* out, const float* a, const float* b, int64_t n, float alpha, float beta);
  Status silu_forward(float* y, const float* x, int64_t n);
  Status silu_backward(float* dx, const float* x, const float* dy, int64_t n, bool accumulate);
  Status rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t D, float eps);
  Status rmsnorm_backward(float* dx, float* dw, const float* x, const float* w, const float* rstd, const float* dy,
                          int64_t R, int64_t D, bool accumulate_dw);
  Status rope(float* y, const float* x, const int32_t* pos, int64_t N, int64_t H, int64_t hd, double theta, bool backward);
  // seg_host: the segment table in host memory (the CUDA kernels read it there: no device-to-host copy)
  Status attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                           const int32_t* seg_host, int64_t S, int64_t N, int64_t H, int64_t Hkv, int64_t hd,
                           float scale);
  Status attention_backward(float* dq, float* dk, float* dv, const float* q, const float* k, const float* v,
                            const int32_t* seg_host, int64_t S, const float* out, const float* lse, const float* dout,
                            int64_t N, int64_t H, int64_t Hkv, int64_t hd, float scale);
  Status swiglu_forward(float* h, const float* gate, const float* up, int64_t n);
  Status swiglu_backward(float* dgate, float* dup, const float* gate, const float* up, const float* dh, int64_t n);
  Status embedding_forward(float* out, const int32_t* ids, const float* table, int64_t N, int64_t V, int64_t D);
  Status embedding_backward(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t D);
  Status timestep_embedding(float* out, const float* t, int64_t N, int64_t dim, double max_period);
  Status cross_entropy(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t M, int64_t V,
                       float grad_scale);
  // the masked MSE, returned to the host
  Status mse_forward(float* loss_host, const float* pred, const float* target, const float* mask, int64_t N, int64_t C);
  Status mse_backward(float* dpred, const float* pred, const float* target, const float* mask, int64_t N, int64_t C,
                      float grad_scale);

  // Model-private row moves (rows.h): dst[dst_idx ? dst_idx[i] : i] (+)= src[src_idx ? src_idx[i] : i] for i < n
  // (destination rows distinct), and dst[i] += table[idx[i]].
  Status copy_rows(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D,
                   bool add = false);
  Status add_rows(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D);

 private:
  static constexpr int kMaxGroups = 8;  // = kGemmMaxGroups (kernels/gemm/gemm.h)
  Status run(int op, std::initializer_list<TensorView> t, std::initializer_list<int64_t> i,
             std::initializer_list<double> f);
  Status run_args(int op, const TensorView* t, int nt, const int64_t* i, int ni, const double* f, int nf);
  TensorView f32(const float* p, std::initializer_list<int64_t> shape) const;
  TensorView i32(const int32_t* p, std::initializer_list<int64_t> shape) const;
  TensorView host_i32(const int32_t* p, std::initializer_list<int64_t> shape) const;

  Device dev_;
  DevBuf<float> loss1_;  // mse_forward's [1] output on the device
};

}  // namespace mc
