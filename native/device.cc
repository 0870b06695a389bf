#include "device.h"

#include <chrono>

#include <cstdlib>
#include <cstring>

#if defined(METACOT_WITH_CUDA)
#include "cuda_device.h"
#endif

namespace mc {

Status device_alloc(Device dev, int64_t bytes, void** out) {
  *out = nullptr;
  if (bytes < 0) return Status::Error(Code::E_ARG, "negative allocation size");
  if (dev == Device::CPU) {
    size_t n = static_cast<size_t>((bytes + 63) / 64 * 64);
    if (n == 0) n = 64;
    void* p = std::aligned_alloc(64, n);
    if (!p)
      return Status::Error(Code::E_OOM, "out of host memory allocating " + std::to_string(bytes) + " bytes");
    std::memset(p, 0, n);
    *out = p;
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_alloc(bytes, out);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

void device_free(Device dev, void* p) {
  if (!p) return;
  if (dev == Device::CPU) {
    std::free(p);
    return;
  }
#if defined(METACOT_WITH_CUDA)
  cuda_free(p);
#endif
}

Status device_upload(Device dev, void* dst, const void* src, int64_t bytes) {
  if (dev == Device::CPU) {
    std::memcpy(dst, src, static_cast<size_t>(bytes));
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_memcpy_h2d(dst, src, bytes);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

Status device_download(Device dev, void* dst, const void* src, int64_t bytes) {
  if (dev == Device::CPU) {
    std::memcpy(dst, src, static_cast<size_t>(bytes));
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_memcpy_d2h(dst, src, bytes);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

Status device_sync(Device dev) {
  if (dev == Device::CPU) return Status::Ok();
#if defined(METACOT_WITH_CUDA)
  return cuda_sync();
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

Status device_copy(Device dev, void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return Status::Ok();
  if (dev == Device::CPU) {
    std::memcpy(dst, src, static_cast<size_t>(bytes));
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_memcpy_d2d(dst, src, bytes);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

Status device_zero(Device dev, void* dst, int64_t bytes) {
  if (bytes <= 0) return Status::Ok();
  if (dev == Device::CPU) {
    std::memset(dst, 0, static_cast<size_t>(bytes));
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_memset0(dst, bytes);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

Status device_time_reps(Device dev, int reps, const std::function<Status()>& fn, std::vector<double>* ms) {
  if (dev == Device::CPU) {
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      Status st = fn();
      if (!st.ok()) return st;
      ms->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return Status::Ok();
  }
#if defined(METACOT_WITH_CUDA)
  return cuda_time_reps(reps, fn, ms);
#else
  return Status::Error(Code::E_DEVICE, "this addon was built without CUDA");
#endif
}

bool cuda_compiled() {
#if defined(METACOT_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

bool cuda_usable(std::string* reason, std::string* device_name, int* device_count) {
#if defined(METACOT_WITH_CUDA)
  return cuda_probe(reason, device_name, device_count);
#else
  *reason = "this addon was built without CUDA (nvcc not found or METACOT_CUDA=off)";
  *device_name = "";
  *device_count = 0;
  return false;
#endif
}

}  // namespace mc
