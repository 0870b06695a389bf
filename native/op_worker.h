// Running an op from the table, synchronously or on a libuv worker (AsyncWorker). The arguments are
// copied into plain structs on the JS thread; Execute() touches no JS value, only those structs.
#pragma once
#include <napi.h>

namespace mc {

Napi::Value RunOpSync(const Napi::CallbackInfo& info);   // runOp(index, tensors, ints, floats)
Napi::Value RunOpAsync(const Napi::CallbackInfo& info);  // runOpAsync(...) -> Promise<void>
Napi::Value TimeOp(const Napi::CallbackInfo& info);     // timeOp(..., shapes, reps) -> Float64Array ms
Napi::Value OpNames(const Napi::CallbackInfo& info);     // opNames() -> [{name, cpu, cuda}]

}  // namespace mc
