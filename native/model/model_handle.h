// The JS-visible MoT model (NativeModel): owns a MotModel, pins its parameter and gradient tensors
// for its lifetime, and runs forward / backward on libuv workers (one call at a time per model).
#pragma once
#include <napi.h>

namespace mc {

Napi::Function InitModelHandle(Napi::Env env);
Napi::Function InitKvCache(Napi::Env env);
Napi::Value ModelLayout(const Napi::CallbackInfo& info);  // modelLayout(config) -> [{name, shape, ...}]

}  // namespace mc
