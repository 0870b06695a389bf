// Status codes shared by every kernel and the addon. Kernels never throw and never abort: they return
// a Status, and the addon turns a non-OK one into a JS Error whose `code` is the name below.
#pragma once
#include <string>
#include <utility>

namespace mc {

enum class Code : int {
  OK = 0,
  E_SHAPE,     // a tensor's shape does not match what the op needs
  E_DTYPE,     // a tensor's dtype does not match
  E_DISPOSED,  // a tensor was used after dispose()
  E_CUDA,      // a CUDA runtime or launch error
  E_OOM,       // an allocation failed
  E_ARG,       // a scalar argument is out of range
  E_DEVICE,    // tensors on different devices, or an op with no kernel for the device
  E_NAN,       // a non-finite value where the op cannot continue (e.g. gradient norm)
};

inline const char* code_name(Code c) {
  switch (c) {
    case Code::OK: return "OK";
    case Code::E_SHAPE: return "E_SHAPE";
    case Code::E_DTYPE: return "E_DTYPE";
    case Code::E_DISPOSED: return "E_DISPOSED";
    case Code::E_CUDA: return "E_CUDA";
    case Code::E_OOM: return "E_OOM";
    case Code::E_ARG: return "E_ARG";
    case Code::E_DEVICE: return "E_DEVICE";
    case Code::E_NAN: return "E_NAN";
  }
  return "E_UNKNOWN";
}

struct Status {
  Code code = Code::OK;
  std::string message;
  bool ok() const { return code == Code::OK; }
  static Status Ok() { return {}; }
  static Status Error(Code c, std::string m) { return Status{c, std::move(m)}; }
};

#define MC_RETURN_IF_ERROR(expr)        \
  do {                                  \
    ::mc::Status _st = (expr);          \
    if (!_st.ok()) return _st;          \
  } while (0)

}  // namespace mc
