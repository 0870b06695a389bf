// JS errors from Status values: an Error with `code` (E_SHAPE, E_DTYPE, ...) and the message.
#pragma once
#include <napi.h>

#include "../kernels/common/status.h"

namespace mc {

inline Napi::Error make_error(Napi::Env env, const Status& st) {
  Napi::Error e = Napi::Error::New(env, st.message);
  e.Set("code", Napi::String::New(env, code_name(st.code)));
  return e;
}

inline Napi::Error make_error(Napi::Env env, Code c, const std::string& msg) {
  return make_error(env, Status::Error(c, msg));
}

}  // namespace mc
