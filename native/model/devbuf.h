// DevBuf: a resizable buffer in one device's memory (host memory on the CPU, cudaMalloc on CUDA), the
// model's activation arena and scratch. resize() keeps the contents when the size is unchanged and
// otherwise gives n zeros, reusing the allocation when it is large enough (it never shrinks: batches
// of changing sizes, e.g. a prefill then denoising passes, would otherwise allocate and fault in fresh
// pages on every call); copies between buffers are explicit (copy_from), so no device-to-device copy
// ever hides behind an assignment.
#pragma once
#include <cstdint>
#include <utility>

#include "../device.h"

namespace mc {

template <typename T>
class DevBuf {
 public:
  DevBuf() = default;
  ~DevBuf() { release(); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : dev_(o.dev_), p_(o.p_), n_(o.n_), cap_(o.cap_) {
    o.p_ = nullptr;
    o.n_ = 0;
    o.cap_ = 0;
  }
  DevBuf& operator=(DevBuf&& o) noexcept {
    if (this != &o) {
      release();
      dev_ = o.dev_;
      p_ = o.p_;
      n_ = o.n_;
      cap_ = o.cap_;
      o.cap_ = 0;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }

    Device device() const { return dev_; }

  // n elements on device d (named at every call, so no buffer can land on the wrong device); a new
  // allocation is zero-filled, an unchanged size and device keep the contents.
  Status resize(Device d, int64_t n) {
    if (d == dev_ && n == n_ && (p_ || n == 0)) return Status::Ok();
    if (d == dev_ && p_ && n > 0 && n <= cap_) {
      n_ = n;
      return zero();
    }
    release();
    dev_ = d;
    if (n <= 0) return Status::Ok();
    void* p = nullptr;
    MC_RETURN_IF_ERROR(device_alloc(dev_, n * static_cast<int64_t>(sizeof(T)), &p));
    p_ = static_cast<T*>(p);
    n_ = n;
    cap_ = n;
    return Status::Ok();
  }
  // at least n elements on device d (contents not kept when it grows; never shrinks): scratch whose
  // size varies from call to call, e.g. per CFG context, without reallocating each time
  Status reserve(Device d, int64_t n) {
    if (d == dev_ && n <= n_ && (p_ || n == 0)) return Status::Ok();
    return resize(d, n);
  }
  Status zero() { return device_zero(dev_, p_, n_ * static_cast<int64_t>(sizeof(T))); }
  // resize to n on device d and copy n elements from host memory
  Status upload(Device d, const T* host, int64_t n) {
    MC_RETURN_IF_ERROR(resize(d, n));
    return n > 0 ? device_upload(dev_, p_, host, n * static_cast<int64_t>(sizeof(T))) : Status::Ok();
  }
  // resize to o's size on o's device and copy o's contents
  Status copy_from(const DevBuf& o) {
    MC_RETURN_IF_ERROR(resize(o.dev_, o.n_));
    return device_copy(dev_, p_, o.p_, n_ * static_cast<int64_t>(sizeof(T)));
  }
  // resize to n on device d keeping the first min(n, size) elements (the rest zero)
  Status grow(Device d, int64_t n) {
    if (d == dev_ && n == n_) return Status::Ok();
    DevBuf next;
    MC_RETURN_IF_ERROR(next.resize(d, n));
    const int64_t keep = n < n_ ? n : n_;
    if (keep > 0) {
      if (d != dev_) return Status::Error(Code::E_DEVICE, "DevBuf::grow: cannot keep contents across devices");
      MC_RETURN_IF_ERROR(device_copy(d, next.p_, p_, keep * static_cast<int64_t>(sizeof(T))));
    }
    *this = std::move(next);
    return Status::Ok();
  }
  // resize to n on o's device and copy o's first n elements
  Status copy_prefix_from(const DevBuf& o, int64_t n) {
    MC_RETURN_IF_ERROR(resize(o.dev_, n));
    return device_copy(dev_, p_, o.p_, n * static_cast<int64_t>(sizeof(T)));
  }
  Status download(T* host, int64_t n, int64_t offset = 0) const {
    return n > 0 ? device_download(dev_, host, p_ + offset, n * static_cast<int64_t>(sizeof(T))) : Status::Ok();
  }

  T* data() const { return p_; }
  int64_t size() const { return n_; }

 private:
  void release() {
    if (p_) device_free(dev_, p_);
    p_ = nullptr;
    n_ = 0;
    cap_ = 0;
  }
  Device dev_ = Device::CPU;
  T* p_ = nullptr;
  int64_t n_ = 0;
  int64_t cap_ = 0;  // allocated elements (>= n_)
};

}  // namespace mc
