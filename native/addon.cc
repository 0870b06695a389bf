// metacot's Node-API addon: tensor handles, the op table, backend information and controls.
// Built twice from the same sources: metacot_cpu.node (always) and metacot_cuda.node (with nvcc);
// src/native/loader.ts picks one at run time and says why.
#include <napi.h>

#include <string>

#include "../kernels/common/cpu_features.h"
#include "../kernels/common/threadpool.h"
#include "device.h"
#include "errors.h"
#include "model/model_handle.h"
#include "op_worker.h"
#include "tensor_handle.h"

namespace mc {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("flavour", cuda_compiled() ? "cuda" : "cpu");
  o.Set("simd", simd_name(simd_level()));
  o.Set("threads", num_threads());
  o.Set("maxThreads", max_threads());
  Napi::Object cuda = Napi::Object::New(env);
  std::string reason, name;
  int count = 0;
  bool usable = cuda_usable(&reason, &name, &count);
  cuda.Set("compiled", cuda_compiled());
  cuda.Set("usable", usable);
  cuda.Set("reason", reason);
  cuda.Set("device", name);
  cuda.Set("deviceCount", count);
  o.Set("cuda", cuda);
  return o;
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto put = [&](const char* key, Device d) {
    Napi::Object s = Napi::Object::New(env);
    s.Set("tensors", static_cast<double>(live_counters(d).tensors.load()));
    s.Set("bytes", static_cast<double>(live_counters(d).bytes.load()));
    o.Set(key, s);
  };
  put("cpu", Device::CPU);
  put("cuda", Device::CUDA);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsNumber())
    throw make_error(info.Env(), Code::E_ARG, "setThreads(n): expected a number");
  set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), num_threads());
}

Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString())
    throw make_error(info.Env(), Code::E_ARG, "setSimd(level): expected 'scalar' | 'avx2' | 'avx512'");
  std::string s = info[0].As<Napi::String>().Utf8Value();
  Simd cap = s == "scalar" ? Simd::Scalar : s == "avx2" ? Simd::Avx2 : Simd::Avx512;
  if (s != "scalar" && s != "avx2" && s != "avx512")
    throw make_error(info.Env(), Code::E_ARG, "setSimd: argument 'level' expected 'scalar' | 'avx2' | 'avx512', received '" + s + "'");
  set_simd_cap(cap);
  return Napi::String::New(info.Env(), simd_name(simd_level()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tensor", TensorHandle::Init(env));
  exports.Set("runOp", Napi::Function::New(env, RunOpSync, "runOp"));
  exports.Set("runOpAsync", Napi::Function::New(env, RunOpAsync, "runOpAsync"));
  exports.Set("timeOp", Napi::Function::New(env, TimeOp, "timeOp"));
  exports.Set("ops", Napi::Function::New(env, OpNames, "ops"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  exports.Set("Model", InitModelHandle(env));
  exports.Set("KvCache", InitKvCache(env));
  exports.Set("modelLayout", Napi::Function::New(env, ModelLayout, "modelLayout"));
  return exports;
}

}  // namespace
}  // namespace mc

static Napi::Object InitMetacot(Napi::Env env, Napi::Object exports) { return mc::Init(env, exports); }
NODE_API_MODULE(metacot, InitMetacot)
