// TensorHandle: the JS-visible owner of one device buffer. dispose() frees it at once (or, if an
// async op is still using it, as soon as that op finishes); the finalizer is the safety net for
// handles the program forgot. Live tensor and byte counters feed metacot's leak checks, and
// AdjustExternalMemory tells V8's GC how much native memory a small JS object really holds.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>

#include "../kernels/common/tensor.h"

namespace mc {

struct LiveCounters {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
};
LiveCounters& live_counters(Device d);

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  static bool Is(Napi::Env env, Napi::Value v);
  static Napi::FunctionReference* constructor;

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  const TensorView& view() const { return view_; }
  bool disposed() const { return disposed_; }
  // pin/unpin: an async op is using the buffer (no upload, no free until it finishes).
  void pin() { ++busy_; }
  void unpin(Napi::Env env);
  // hold/release: a long-lived owner (a model) refers to the buffer; dispose() defers the free.
  void hold() { ++holders_; }
  void release(Napi::Env env);

 private:
  Napi::Value Upload(const Napi::CallbackInfo& info);
  Napi::Value Download(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetNbytes(const Napi::CallbackInfo& info);
  void Release(Napi::Env* env);

  TensorView view_;
  int64_t nbytes_ = 0;
  bool disposed_ = false;
  bool freed_ = false;
  int busy_ = 0;
  int holders_ = 0;
};

}  // namespace mc
