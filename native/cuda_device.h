// CUDA runtime glue for the CUDA flavour of the addon: allocation, copies, device probe. Every CUDA
// error becomes an E_CUDA / E_OOM Status with cudaGetErrorString's text; nothing aborts.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../kernels/common/status.h"

namespace mc {

Status cuda_alloc(int64_t bytes, void** out);
void cuda_free(void* p);
Status cuda_memcpy_h2d(void* dst, const void* src, int64_t bytes);
Status cuda_memcpy_d2h(void* dst, const void* src, int64_t bytes);
Status cuda_sync();
Status cuda_memcpy_d2d(void* dst, const void* src, int64_t bytes);
Status cuda_memset0(void* dst, int64_t bytes);
Status cuda_time_reps(int reps, const std::function<Status()>& fn, std::vector<double>* ms);
bool cuda_probe(std::string* reason, std::string* device_name, int* device_count);

}  // namespace mc
