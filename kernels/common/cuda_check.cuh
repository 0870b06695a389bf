// Shared by every kernels/*/cuda.cu: launch geometry and turning CUDA errors into Status values
// (E_CUDA with the error's name) instead of aborting.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "status.h"

namespace mc {

inline Status cuda_status(const char* op, cudaError_t e) {
  if (e == cudaSuccess) return Status::Ok();
  cudaGetLastError();
  return Status::Error(e == cudaErrorMemoryAllocation ? Code::E_OOM : Code::E_CUDA,
                       std::string(op) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// After a launch: configuration errors show up here; execution errors at the addon's sync.
inline Status cuda_launch_status(const char* op) { return cuda_status(op, cudaGetLastError()); }

inline unsigned grid_for(int64_t n, int block) {
  int64_t g = (n + block - 1) / block;
  return static_cast<unsigned>(g < 1 ? 1 : (g > 65535LL * 32 ? 65535LL * 32 : g));
}

}  // namespace mc
