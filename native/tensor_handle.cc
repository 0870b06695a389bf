#include "tensor_handle.h"

#include "device.h"
#include "errors.h"

namespace mc {

Napi::FunctionReference* TensorHandle::constructor = nullptr;

LiveCounters& live_counters(Device d) {
  static LiveCounters cpu, cuda;
  return d == Device::CPU ? cpu : cuda;
}

Napi::Function TensorHandle::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "NativeTensor",
                                  {
                                      InstanceMethod("upload", &TensorHandle::Upload),
                                      InstanceMethod("download", &TensorHandle::Download),
                                      InstanceMethod("dispose", &TensorHandle::Dispose),
                                      InstanceAccessor("disposed", &TensorHandle::GetDisposed, nullptr),
                                      InstanceAccessor("nbytes", &TensorHandle::GetNbytes, nullptr),
                                  });
  constructor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

bool TensorHandle::Is(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return false;
  return v.As<Napi::Object>().InstanceOf(constructor->Value());
}

// new NativeTensor(shape: number[], dtype: number, device: number)
TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber())
    throw make_error(env, Code::E_ARG, "NativeTensor(shape, dtype, device): expected (number[], number, number)");
  Napi::Array shape = info[0].As<Napi::Array>();
  if (shape.Length() > static_cast<uint32_t>(kMaxDims))
    throw make_error(env, Code::E_SHAPE,
                     "NativeTensor: shape expected at most " + std::to_string(kMaxDims) + " dims, received " +
                         std::to_string(shape.Length()));
  view_.ndim = static_cast<int>(shape.Length());
  int64_t numel = 1;
  for (int i = 0; i < view_.ndim; ++i) {
    Napi::Value d = shape.Get(static_cast<uint32_t>(i));
    double v = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0) || v != static_cast<double>(static_cast<int64_t>(v)) || v > 9.0e15)
      throw make_error(env, Code::E_SHAPE, "NativeTensor: shape[" + std::to_string(i) +
                                               "] expected a non-negative integer, received " +
                                               d.ToString().Utf8Value());
    view_.shape[i] = static_cast<int64_t>(v);
    numel *= view_.shape[i];
    if (numel > (int64_t{1} << 50)) throw make_error(env, Code::E_OOM, "NativeTensor: shape too large to allocate");
  }
  int dt = info[1].As<Napi::Number>().Int32Value();
  int dev = info[2].As<Napi::Number>().Int32Value();
  if (dt < 0 || dt > 3) throw make_error(env, Code::E_DTYPE, "NativeTensor: unknown dtype code " + std::to_string(dt));
  if (dev < 0 || dev > 1)
    throw make_error(env, Code::E_DEVICE, "NativeTensor: unknown device code " + std::to_string(dev));
  view_.dtype = static_cast<DType>(dt);
  view_.device = static_cast<Device>(dev);
  nbytes_ = numel * dtype_size(view_.dtype);
  Status st = device_alloc(view_.device, nbytes_, &view_.data);
  if (!st.ok()) throw make_error(env, st);
  auto& c = live_counters(view_.device);
  c.tensors += 1;
  c.bytes += nbytes_;
  if (view_.device == Device::CPU) Napi::MemoryManagement::AdjustExternalMemory(env, nbytes_);
}

TensorHandle::~TensorHandle() { Release(nullptr); }

void TensorHandle::Release(Napi::Env* env) {
  if (freed_) return;
  freed_ = true;
  device_free(view_.device, view_.data);
  view_.data = nullptr;
  auto& c = live_counters(view_.device);
  c.tensors -= 1;
  c.bytes -= nbytes_;
  if (env && view_.device == Device::CPU) Napi::MemoryManagement::AdjustExternalMemory(*env, -nbytes_);
}

void TensorHandle::unpin(Napi::Env env) {
  if (--busy_ == 0 && holders_ == 0 && disposed_) Release(&env);
}

void TensorHandle::release(Napi::Env env) {
  if (--holders_ == 0 && busy_ == 0 && disposed_) Release(&env);
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return env.Undefined();
  disposed_ = true;
  if (busy_ == 0 && holders_ == 0) Release(&env);
  return env.Undefined();
}

Napi::Value TensorHandle::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }
Napi::Value TensorHandle::GetNbytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(nbytes_));
}

namespace {
bool typed_array_matches(const Napi::TypedArray& ta, DType d) {
  switch (d) {
    case DType::F32: return ta.TypedArrayType() == napi_float32_array;
    case DType::I32: return ta.TypedArrayType() == napi_int32_array;
    case DType::BF16: return ta.TypedArrayType() == napi_uint16_array;
    case DType::U8: return ta.TypedArrayType() == napi_uint8_array;
  }
  return false;
}
const char* typed_array_for(DType d) {
  switch (d) {
    case DType::F32: return "Float32Array";
    case DType::I32: return "Int32Array";
    case DType::BF16: return "Uint16Array";
    case DType::U8: return "Uint8Array";
  }
  return "?";
}
}  // namespace

// upload(data: TypedArray): copies the whole tensor from host memory.
Napi::Value TensorHandle::Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) throw make_error(env, Code::E_DISPOSED, "upload: the tensor was disposed");
  if (busy_ > 0) throw make_error(env, Code::E_ARG, "upload: the tensor is in use by a running async op");
  if (info.Length() < 1 || !info[0].IsTypedArray())
    throw make_error(env, Code::E_ARG, std::string("upload: argument 'data' expected a ") + typed_array_for(view_.dtype));
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (!typed_array_matches(ta, view_.dtype))
    throw make_error(env, Code::E_DTYPE, std::string("upload: argument 'data' expected a ") +
                                             typed_array_for(view_.dtype) + " for dtype " + dtype_name(view_.dtype));
  if (static_cast<int64_t>(ta.ElementLength()) != view_.numel())
    throw make_error(env, Code::E_SHAPE, "upload: argument 'data' expected " + std::to_string(view_.numel()) +
                                             " elements for shape " + view_.shape_str() + ", received " +
                                             std::to_string(ta.ElementLength()));
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  Status st = device_upload(view_.device, view_.data, src, nbytes_);
  if (!st.ok()) throw make_error(env, st);
  return env.Undefined();
}

// download(): a new TypedArray holding a copy of the tensor.
Napi::Value TensorHandle::Download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) throw make_error(env, Code::E_DISPOSED, "download: the tensor was disposed");
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, static_cast<size_t>(nbytes_));
  Status st = device_download(view_.device, buf.Data(), view_.data, nbytes_);
  if (!st.ok()) throw make_error(env, st);
  size_t n = static_cast<size_t>(view_.numel());
  switch (view_.dtype) {
    case DType::F32: return Napi::Float32Array::New(env, n, buf, 0);
    case DType::I32: return Napi::Int32Array::New(env, n, buf, 0);
    case DType::BF16: return Napi::Uint16Array::New(env, n, buf, 0);
    case DType::U8: return Napi::Uint8Array::New(env, n, buf, 0);
  }
  return env.Undefined();
}

}  // namespace mc
