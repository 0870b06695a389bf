#include <cuda_runtime.h>

#include "cuda_device.h"

namespace mc {
namespace {
Status from_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  Code c = (e == cudaErrorMemoryAllocation) ? Code::E_OOM : Code::E_CUDA;
  cudaGetLastError();  // clear the sticky-free error so the next call starts clean
  return Status::Error(c, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
}  // namespace

Status cuda_alloc(int64_t bytes, void** out) {
  size_t n = bytes > 0 ? static_cast<size_t>(bytes) : 256;
  cudaError_t e = cudaMalloc(out, n);
  if (e != cudaSuccess) {
    *out = nullptr;
    return from_cuda(e, ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
  }
  Status st = from_cuda(cudaMemset(*out, 0, n), "cudaMemset");
  if (!st.ok()) {  // do not hand out (and leak) a buffer the caller treats as not allocated
    cudaFree(*out);
    cudaGetLastError();
    *out = nullptr;
  }
  return st;
}

// No Status to return here (called from destructors): clear a failure so that it does not surface as
// the next op's launch error (cuda_launch_status reads cudaGetLastError).
void cuda_free(void* p) {
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
}

Status cuda_memcpy_h2d(void* dst, const void* src, int64_t bytes) {
  return from_cuda(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}

Status cuda_memcpy_d2h(void* dst, const void* src, int64_t bytes) {
  return from_cuda(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}

Status cuda_memcpy_d2d(void* dst, const void* src, int64_t bytes) {
  return from_cuda(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice), "cudaMemcpy D2D");
}

Status cuda_memset0(void* dst, int64_t bytes) {
  return from_cuda(cudaMemsetAsync(dst, 0, static_cast<size_t>(bytes)), "cudaMemset");
}

Status cuda_sync() { return from_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

// One event pair per rep, all recorded on the default stream (where every kernel launches), read after
// one final synchronisation: the reps run back to back as they would in a training step.
Status cuda_time_reps(int reps, const std::function<Status()>& fn, std::vector<double>* ms) {
  std::vector<cudaEvent_t> ev(2 * static_cast<size_t>(reps), nullptr);
  Status st = Status::Ok();
  int made = 0;
  for (; made < 2 * reps && st.ok(); ++made) st = from_cuda(cudaEventCreate(&ev[made]), "cudaEventCreate");
  if (!st.ok()) --made;
  for (int r = 0; r < reps && st.ok(); ++r) {
    st = from_cuda(cudaEventRecord(ev[2 * r]), "cudaEventRecord");
    if (st.ok()) st = fn();
    if (st.ok()) st = from_cuda(cudaEventRecord(ev[2 * r + 1]), "cudaEventRecord");
  }
  if (st.ok()) st = from_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  for (int r = 0; r < reps && st.ok(); ++r) {
    float t = 0.f;
    st = from_cuda(cudaEventElapsedTime(&t, ev[2 * r], ev[2 * r + 1]), "cudaEventElapsedTime");
    if (st.ok()) ms->push_back(static_cast<double>(t));
  }
  for (int i = 0; i < made; ++i)
    if (cudaEventDestroy(ev[i]) != cudaSuccess) cudaGetLastError();
  return st;
}

bool cuda_probe(std::string* reason, std::string* device_name, int* device_count) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  *device_count = 0;
  if (e != cudaSuccess) {
    *reason = std::string("no usable CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    cudaGetLastError();
    return false;
  }
  if (n == 0) {
    *reason = "no CUDA device found";
    return false;
  }
  cudaDeviceProp prop;
  e = cudaGetDeviceProperties(&prop, 0);
  if (e != cudaSuccess) {
    *reason = std::string("cudaGetDeviceProperties failed: ") + cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  if (prop.major < 8) {
    *reason = std::string("device ") + prop.name + " has compute capability " + std::to_string(prop.major) + "." +
              std::to_string(prop.minor) + "; metacot's CUDA kernels need sm_80 or newer";
    return false;
  }
  *device_count = n;
  *device_name = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
                 std::to_string(prop.totalGlobalMem >> 20) + " MiB)";
  reason->clear();
  return true;
}

}  // namespace mc
