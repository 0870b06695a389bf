#include "op_worker.h"

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "../kernels/ops.h"
#include "device.h"
#include "errors.h"
#include "tensor_handle.h"

namespace mc {
namespace {

struct PreparedCall {
  const OpDef* op = nullptr;
  OpFn fn = nullptr;
  Device device = Device::CPU;
  std::vector<TensorView> views;
  std::vector<TensorHandle*> handles;
  std::vector<int64_t> ints;
  std::vector<double> floats;
};

// Reads (index, tensors, ints, floats) from JS, checks what only the native side can know (disposed
// handles, devices, kernel availability) and fills a PreparedCall. Throws a coded JS error otherwise.
PreparedCall prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsArray() ||
      (info.Length() > 4 && !info[4].IsArray() && !info[4].IsUndefined()))
    throw make_error(env, Code::E_ARG,
                     "runOp(index, tensors, ints, floats, shapes?): expected (number, array, array, array, array?)");
  int count = 0;
  const OpDef* table = op_table(&count);
  int idx = info[0].As<Napi::Number>().Int32Value();
  if (idx < 0 || idx >= count) throw make_error(env, Code::E_ARG, "runOp: unknown op index " + std::to_string(idx));
  PreparedCall call;
  call.op = &table[idx];
  const std::string opname = call.op->name;
  Napi::Array ts = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < ts.Length(); ++i) {
    Napi::Value v = ts.Get(i);
    if (!TensorHandle::Is(env, v))
      throw make_error(env, Code::E_ARG, opname + ": tensor argument " + std::to_string(i) + " is not a tensor");
    TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
    if (h->disposed())
      throw make_error(env, Code::E_DISPOSED, opname + ": tensor argument " + std::to_string(i) + " was disposed");
    call.handles.push_back(h);
    call.views.push_back(h->view());
  }
  // Optional per-tensor shapes: a reshaped TypeScript Tensor shares its handle, so the op sees the
  // shape the caller holds. Same element count only; the buffer is never reinterpreted beyond it.
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array shapes = info[4].As<Napi::Array>();
    if (shapes.Length() != ts.Length())
      throw make_error(env, Code::E_ARG, opname + ": shapes expected one per tensor");
    for (uint32_t i = 0; i < shapes.Length(); ++i) {
      Napi::Value sv = shapes.Get(i);
      if (!sv.IsArray()) throw make_error(env, Code::E_ARG, opname + ": shapes[" + std::to_string(i) + "] is not an array");
      Napi::Array sh = sv.As<Napi::Array>();
      if (sh.Length() > static_cast<uint32_t>(kMaxDims))
        throw make_error(env, Code::E_SHAPE, opname + ": shapes[" + std::to_string(i) + "] has too many dims");
      TensorView& v = call.views[i];
      int64_t before = v.numel();
      v.ndim = static_cast<int>(sh.Length());
      for (int d = 0; d < v.ndim; ++d) v.shape[d] = sh.Get(static_cast<uint32_t>(d)).As<Napi::Number>().Int64Value();
      if (v.numel() != before)
        throw make_error(env, Code::E_SHAPE, opname + ": shapes[" + std::to_string(i) + "] " + v.shape_str() +
                                                 " does not match the tensor's " + std::to_string(before) + " elements");
    }
  }
  if (!call.views.empty()) {
    call.device = call.views[0].device;
    for (size_t i = 1; i < call.views.size(); ++i)
      if (call.views[i].device != call.device)
        throw make_error(env, Code::E_DEVICE, opname + ": tensor argument " + std::to_string(i) + " is on " +
                                                  (call.views[i].device == Device::CPU ? "cpu" : "cuda") +
                                                  ", expected " + (call.device == Device::CPU ? "cpu" : "cuda") +
                                                  " like argument 0");
  }
  call.fn = call.device == Device::CPU ? call.op->cpu : call.op->cuda;
  if (!call.fn)
    throw make_error(env, Code::E_DEVICE, opname + ": no " + (call.device == Device::CPU ? "CPU" : "CUDA") +
                                              " kernel for this op in this build");
  Napi::Array is = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < is.Length(); ++i) {
    Napi::Value v = is.Get(i);
    if (!v.IsNumber()) throw make_error(env, Code::E_ARG, opname + ": int argument " + std::to_string(i) + " is not a number");
    call.ints.push_back(v.As<Napi::Number>().Int64Value());
  }
  Napi::Array fs = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < fs.Length(); ++i) {
    Napi::Value v = fs.Get(i);
    if (!v.IsNumber())
      throw make_error(env, Code::E_ARG, opname + ": float argument " + std::to_string(i) + " is not a number");
    call.floats.push_back(v.As<Napi::Number>().DoubleValue());
  }
  return call;
}

// The kernel's view of a prepared call (pointers into it: valid while the call lives).
OpArgs op_args(const PreparedCall& c) {
  OpArgs a;
  a.t = c.views.data();
  a.nt = static_cast<int>(c.views.size());
  a.i = c.ints.data();
  a.ni = static_cast<int>(c.ints.size());
  a.f = c.floats.data();
  a.nf = static_cast<int>(c.floats.size());
  return a;
}

// Runs the kernel; converts anything thrown below (allocation failures in scratch buffers) into a Status.
Status execute(const PreparedCall& c) {
  const OpArgs a = op_args(c);
  try {
    Status st = c.fn(a);
    if (st.ok() && c.device == Device::CUDA) st = device_sync(c.device);
    return st;
  } catch (const std::bad_alloc&) {
    return Status::Error(Code::E_OOM, std::string(c.op->name) + ": out of memory for scratch buffers");
  } catch (const std::exception& e) {
    return Status::Error(Code::E_ARG, std::string(c.op->name) + ": " + e.what());
  }
}

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, PreparedCall call, const Napi::Array& tensors)
      : Napi::AsyncWorker(env, "metacot.op"), call_(std::move(call)), deferred_(Napi::Promise::Deferred::New(env)) {
    // Keep the JS tensor objects alive (no finalizer can run) and pin their buffers (a dispose()
    // during the op is deferred) until the op finishes.
    for (uint32_t i = 0; i < tensors.Length(); ++i) refs_.push_back(Napi::Persistent(tensors.Get(i).As<Napi::Object>()));
    for (TensorHandle* h : call_.handles) h->pin();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { status_ = execute(call_); }

  void OnOK() override {
    Napi::Env env = Env();
    for (TensorHandle* h : call_.handles) h->unpin(env);
    if (status_.ok())
      deferred_.Resolve(env.Undefined());
    else
      deferred_.Reject(make_error(env, status_).Value());
  }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    for (TensorHandle* h : call_.handles) h->unpin(env);
    deferred_.Reject(e.Value());
  }

 private:
  PreparedCall call_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  Status status_;
};

}  // namespace

Napi::Value RunOpSync(const Napi::CallbackInfo& info) {
  PreparedCall call = prepare(info);
  Status st = execute(call);
  if (!st.ok()) throw make_error(info.Env(), st);
  return info.Env().Undefined();
}

Napi::Value RunOpAsync(const Napi::CallbackInfo& info) {
  PreparedCall call = prepare(info);
  auto* w = new OpWorker(info.Env(), std::move(call), info[1].As<Napi::Array>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// timeOp(index, tensors, ints, floats, shapes, reps) -> Float64Array of per-rep milliseconds. The
// call is prepared once and run `reps` times back to back (no sync between reps on CUDA: events time
// each run on the device). Warm-up is the caller's business (run a few reps and drop them).
Napi::Value TimeOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[5].IsNumber())
    throw make_error(env, Code::E_ARG, "timeOp(index, tensors, ints, floats, shapes, reps): expected 6 arguments, reps a number");
  const int reps = info[5].As<Napi::Number>().Int32Value();
  if (reps < 1 || reps > 100000)
    throw make_error(env, Code::E_ARG, "timeOp: argument 'reps' expected an integer in 1..100000, received " + std::to_string(reps));
  PreparedCall call = prepare(info);
  const OpArgs a = op_args(call);
  std::vector<double> ms;
  Status st;
  try {
    st = device_time_reps(call.device, reps, [&]() { return call.fn(a); }, &ms);
  } catch (const std::bad_alloc&) {
    st = Status::Error(Code::E_OOM, std::string(call.op->name) + ": out of memory for scratch buffers");
  }
  if (!st.ok()) throw make_error(env, st);
  Napi::Float64Array out = Napi::Float64Array::New(env, ms.size());
  for (size_t i = 0; i < ms.size(); ++i) out[i] = ms[i];
  return out;
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = 0;
  const OpDef* table = op_table(&count);
  Napi::Array out = Napi::Array::New(env, count);
  for (int i = 0; i < count; ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", table[i].name);
    o.Set("cpu", table[i].cpu != nullptr);
    o.Set("cuda", table[i].cuda != nullptr);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace mc
