// Device memory for tensor handles: CPU memory is 64-byte aligned host memory; CUDA memory goes
// through native/cuda_device.cu, compiled only into the CUDA flavour of the addon.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../kernels/common/status.h"
#include "../kernels/common/tensor.h"

namespace mc {

Status device_alloc(Device dev, int64_t bytes, void** out);
void device_free(Device dev, void* p);
Status device_upload(Device dev, void* dst, const void* src, int64_t bytes);
Status device_download(Device dev, void* dst, const void* src, int64_t bytes);
Status device_sync(Device dev);
// Copies within one device's memory (regions must not overlap) and zero-fills (async on CUDA: ordered
// with the kernels on the default stream).
Status device_copy(Device dev, void* dst, const void* src, int64_t bytes);
Status device_zero(Device dev, void* dst, int64_t bytes);

// Runs fn `reps` times and appends each run's time in milliseconds to *ms: CUDA events around each
// run on the device (launch-to-completion on the GPU's clock), a steady clock on the CPU. Stops at the
// first error. For microbenchmarks (timeOp), never for tests.
Status device_time_reps(Device dev, int reps, const std::function<Status()>& fn, std::vector<double>* ms);

// Whether this addon was built with CUDA, and whether a device is usable (with the reason if not).
bool cuda_compiled();
bool cuda_usable(std::string* reason, std::string* device_name, int* device_count);

}  // namespace mc
