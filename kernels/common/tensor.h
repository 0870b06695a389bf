// TensorView: a non-owning view of a contiguous, row-major buffer on one device. Kernels take views;
// ownership (allocation, dispose, counters) lives in the addon's tensor handles.
#pragma once
#include <cstdint>
#include <string>

#include "status.h"

namespace mc {

enum class DType : int32_t { F32 = 0, I32 = 1, BF16 = 2, U8 = 3 };
enum class Device : int32_t { CPU = 0, CUDA = 1 };

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
    case DType::BF16: return "bf16";
    case DType::U8: return "u8";
  }
  return "?";
}
inline int64_t dtype_size(DType d) {
  switch (d) {
    case DType::F32: return 4;
    case DType::I32: return 4;
    case DType::BF16: return 2;
    case DType::U8: return 1;
  }
  return 0;
}

constexpr int kMaxDims = 6;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  int ndim = 0;
  int64_t shape[kMaxDims] = {0, 0, 0, 0, 0, 0};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  int64_t dim(int i) const { return i < 0 ? shape[ndim + i] : shape[i]; }
  float* f32() const { return static_cast<float*>(data); }
  int32_t* i32() const { return static_cast<int32_t*>(data); }
  std::string shape_str() const {
    std::string s = "[";
    for (int i = 0; i < ndim; ++i) {
      if (i) s += ", ";
      s += std::to_string(shape[i]);
    }
    return s + "]";
  }
};

// Arguments of one op call, in the order the op's header documents: tensors (inputs then outputs),
// integer parameters, float parameters. Plain data: safe to build on the JS thread and read on a worker.
struct OpArgs {
  const TensorView* t = nullptr;
  int nt = 0;
  const int64_t* i = nullptr;
  int ni = 0;
  const double* f = nullptr;
  int nf = 0;
};

// --- small checking helpers used by the op adapters (defence in depth: TypeScript checks first) ---
inline Status check_count(const char* op, const OpArgs& a, int nt, int ni, int nf) {
  if (a.nt != nt || a.ni != ni || a.nf != nf)
    return Status::Error(Code::E_ARG, std::string(op) + ": expected " + std::to_string(nt) + " tensors, " +
                                          std::to_string(ni) + " ints, " + std::to_string(nf) + " floats; received " +
                                          std::to_string(a.nt) + ", " + std::to_string(a.ni) + ", " +
                                          std::to_string(a.nf));
  return Status::Ok();
}
inline Status check_dtype(const char* op, const char* arg, const TensorView& t, DType d) {
  if (t.dtype != d)
    return Status::Error(Code::E_DTYPE, std::string(op) + ": argument '" + arg + "' expected dtype " + dtype_name(d) +
                                            ", received " + dtype_name(t.dtype));
  return Status::Ok();
}
inline Status check_numel(const char* op, const char* arg, const TensorView& t, int64_t n) {
  if (t.numel() != n)
    return Status::Error(Code::E_SHAPE, std::string(op) + ": argument '" + arg + "' expected " + std::to_string(n) +
                                            " elements, received shape " + t.shape_str());
  return Status::Ok();
}
inline Status check_arg(const char* op, const char* arg, bool ok, const std::string& expected, const std::string& got) {
  if (!ok)
    return Status::Error(Code::E_ARG,
                         std::string(op) + ": argument '" + arg + "' expected " + expected + ", received " + got);
  return Status::Ok();
}

}  // namespace mc
