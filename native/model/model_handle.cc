#include "model_handle.h"

#include "../device.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../errors.h"
#include "../tensor_handle.h"
#include "mot.h"

namespace mc {
namespace {

double num(Napi::Object o, const char* key, bool required, double dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    if (required) throw make_error(o.Env(), Code::E_ARG, std::string("model config: '") + key + "' is required");
    return dflt;
  }
  if (!v.IsNumber() && !v.IsBoolean())
    throw make_error(o.Env(), Code::E_ARG, std::string("model config: '") + key + "' expected a number");
  return v.IsBoolean() ? (v.As<Napi::Boolean>().Value() ? 1 : 0) : v.As<Napi::Number>().DoubleValue();
}

MotConfig parse_config(Napi::Value v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) throw make_error(env, Code::E_ARG, "model config: expected an object");
  Napi::Object o = v.As<Napi::Object>();
  MotConfig c;
  c.vocab = static_cast<int64_t>(num(o, "vocab", true, 0));
  c.hidden = static_cast<int64_t>(num(o, "hidden", true, 0));
  c.layers = static_cast<int64_t>(num(o, "layers", true, 0));
  c.heads = static_cast<int64_t>(num(o, "heads", true, 0));
  c.kv_heads = static_cast<int64_t>(num(o, "kvHeads", true, 0));
  c.head_dim = static_cast<int64_t>(num(o, "headDim", true, 0));
  c.mlp = static_cast<int64_t>(num(o, "mlp", true, 0));
  c.rope_theta = num(o, "ropeTheta", false, 1e6);
  c.rms_eps = num(o, "rmsEps", false, 1e-6);
  c.latent_channels = static_cast<int64_t>(num(o, "latentChannels", true, 0));
  c.vit_patch_dim = static_cast<int64_t>(num(o, "vitPatchDim", true, 0));
  c.max_latent_side = static_cast<int64_t>(num(o, "maxLatentSide", true, 0));
  c.timestep_dim = static_cast<int64_t>(num(o, "timestepDim", false, 256));
  c.tie_embeddings = num(o, "tieEmbeddings", false, 0) != 0;
  Status st = c.validate();
  if (!st.ok()) throw make_error(env, st);
  return c;
}

const char* init_name(Init i) {
  switch (i) {
    case Init::Normal: return "normal";
    case Init::Zeros: return "zeros";
    case Init::Ones: return "ones";
  }
  return "?";
}
const char* owner_name(Owner o) {
  switch (o) {
    case Owner::Shared: return "shared";
    case Owner::Und: return "und";
    case Owner::Gen: return "gen";
  }
  return "?";
}

struct PinnedTensor {
  TensorHandle* h;
  Napi::ObjectReference ref;
};

// NativeKvCache: a model's key/value cache (see MotModel::infer).
class KvCacheHandle : public Napi::ObjectWrap<KvCacheHandle> {
 public:
  static Napi::FunctionReference* ctor;
  explicit KvCacheHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KvCacheHandle>(info) {}
  KvCache cache;
  bool busy = false;
  Napi::Value GetLength(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(cache.n)); }
  Napi::Value Clear(const Napi::CallbackInfo& info) {
    if (busy) throw make_error(info.Env(), Code::E_ARG, "kvCache.clear: an inference pass is using the cache");
    cache = KvCache();
    return info.Env().Undefined();
  }
  // clone(): a new cache holding a copy of this one's tokens (e.g. the image-only prefix as the
  // no-text CFG context before the instruction is appended to the original).
  Napi::Value Clone(const Napi::CallbackInfo& info) {
    Napi::Object o = ctor->New({});
    KvCacheHandle* c = KvCacheHandle::Unwrap(o);
    c->cache.n = cache.n;
    c->cache.cap = cache.n;
    c->cache.seg = cache.seg;
    c->cache.k.resize(cache.k.size());
    c->cache.v.resize(cache.v.size());
    for (size_t l = 0; l < cache.k.size(); ++l) {
      const int64_t row = cache.cap ? cache.k[l].size() / cache.cap : 0;  // floats per cached token
      Status st = c->cache.k[l].copy_prefix_from(cache.k[l], row * cache.n);
      if (st.ok()) st = c->cache.v[l].copy_prefix_from(cache.v[l], row * cache.n);
      if (!st.ok()) throw make_error(info.Env(), st);
    }
    return o;
  }
  Napi::Value Segments(const Napi::CallbackInfo& info) {
    Napi::Array a = Napi::Array::New(info.Env(), cache.seg.size());
    for (size_t i = 0; i < cache.seg.size(); ++i) a.Set(static_cast<uint32_t>(i), cache.seg[i]);
    return a;
  }
};
Napi::FunctionReference* KvCacheHandle::ctor = nullptr;

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::FunctionReference* ctor;
  explicit ModelHandle(const Napi::CallbackInfo& info);
  ~ModelHandle() override = default;

  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Infer(const Napi::CallbackInfo& info);
  Napi::Value SetFrozen(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }

  MotModel* model() { return model_.get(); }
  bool busy_ = false;
  void pin_all() { for (auto& p : pinned_) p.h->pin(); }
  void unpin_all(Napi::Env env) { for (auto& p : pinned_) p.h->unpin(env); }

 private:
  void check_usable(Napi::Env env, const char* what);
  std::unique_ptr<MotModel> model_;
  std::vector<PinnedTensor> pinned_;
  bool disposed_ = false;
};

Napi::FunctionReference* ModelHandle::ctor = nullptr;

// A tensor argument of dtype dt on device dev (the batch and the outputs live in host memory; the
// parameters and gradients on the model's device).
TensorHandle* tensor_arg(Napi::Env env, Napi::Value v, const std::string& what, DType dt, Device dev = Device::CPU) {
  if (!TensorHandle::Is(env, v)) throw make_error(env, Code::E_ARG, what + " expected a tensor");
  TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
  if (h->disposed()) throw make_error(env, Code::E_DISPOSED, what + " was disposed");
  if (h->view().dtype != dt)
    throw make_error(env, Code::E_DTYPE, what + " expected dtype " + dtype_name(dt) + ", received " + dtype_name(h->view().dtype));
  if (h->view().device != dev) {
    const char* want = dev == Device::CPU ? "cpu" : "cuda";
    const char* got = h->view().device == Device::CPU ? "cpu" : "cuda";
    throw make_error(env, Code::E_DEVICE, what + " expected a " + want + " tensor" +
                                              (dev == Device::CPU ? " (batches and outputs are host memory)" : " (like params[0])") +
                                              ", received a " + got + " tensor");
  }
  return h;
}

// new NativeModel(config, params: Tensor[], grads: Tensor[] | null)
ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsArray())
    throw make_error(env, Code::E_ARG, "NativeModel(config, params, grads): expected (object, Tensor[], Tensor[] | null)");
  MotConfig cfg = parse_config(info[0]);
  ParamLayout layout = make_layout(cfg);
  Napi::Array ps = info[1].As<Napi::Array>();
  if (ps.Length() != layout.specs.size())
    throw make_error(env, Code::E_ARG, "NativeModel: argument 'params' expected " + std::to_string(layout.specs.size()) +
                                           " tensors (the layout), received " + std::to_string(ps.Length()));
  bool with_grads = info.Length() > 2 && info[2].IsArray();
  Napi::Array gs = with_grads ? info[2].As<Napi::Array>() : Napi::Array::New(env);
  if (with_grads && gs.Length() != layout.specs.size())
    throw make_error(env, Code::E_ARG, "NativeModel: argument 'grads' expected " + std::to_string(layout.specs.size()) +
                                           " tensors, received " + std::to_string(gs.Length()));
  std::vector<float*> params, grads;
  // the model runs where its first parameter lives; every other parameter and gradient must be there too
  Device dev = Device::CPU;
  if (ps.Length() > 0 && TensorHandle::Is(env, ps.Get(0u))) dev = TensorHandle::Unwrap(ps.Get(0u).As<Napi::Object>())->view().device;
  auto take = [&](Napi::Array arr, size_t i, const char* which, std::vector<float*>& out) {
    const ParamSpec& s = layout.specs[i];
    TensorHandle* h = tensor_arg(env, arr.Get(static_cast<uint32_t>(i)), std::string("NativeModel: ") + which + "[" + std::to_string(i) + "] (" + s.name + ")", DType::F32, dev);
    if (h->view().numel() != s.numel())
      throw make_error(env, Code::E_SHAPE, std::string("NativeModel: ") + which + "[" + std::to_string(i) + "] (" + s.name + ") expected " +
                                               std::to_string(s.numel()) + " elements, received shape " + h->view().shape_str());
    out.push_back(h->view().f32());
    pinned_.push_back(PinnedTensor{h, Napi::Persistent(arr.Get(static_cast<uint32_t>(i)).As<Napi::Object>())});
  };
  for (size_t i = 0; i < layout.specs.size(); ++i) take(ps, i, "params", params);
  if (with_grads)
    for (size_t i = 0; i < layout.specs.size(); ++i) take(gs, i, "grads", grads);
  for (auto& p : pinned_) p.h->hold();
  model_ = std::make_unique<MotModel>(cfg, std::move(params), std::move(grads), dev);
}

void ModelHandle::check_usable(Napi::Env env, const char* what) {
  if (disposed_) throw make_error(env, Code::E_DISPOSED, std::string("model.") + what + ": the model was disposed");
  if (busy_) throw make_error(env, Code::E_ARG, std::string("model.") + what + ": another forward/backward of this model is still running (await it first)");
}

class ModelWorker : public Napi::AsyncWorker {
 public:
  enum Kind { kForward, kBackward, kInfer };
  ModelWorker(Napi::Env env, ModelHandle* owner, Napi::Object owner_obj, Kind kind)
      : Napi::AsyncWorker(env, "metacot.model"), owner_(owner), kind_(kind), deferred_(Napi::Promise::Deferred::New(env)) {
    owner_ref_ = Napi::Persistent(owner_obj);
    owner_->busy_ = true;
    owner_->pin_all();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void hold(TensorHandle* h, Napi::Object obj) {
    h->pin();
    held_.push_back(PinnedTensor{h, Napi::Persistent(obj)});
  }

  MotBatch batch;
  double w_ce = 1, w_mse = 1;
  bool loss = true;
  float* logits_out = nullptr;
  int64_t logits_cap = -1;
  bool logits_on_device = false;  // the output tensor lives on the model's device (a device copy)
  float* vel_out = nullptr;
  int64_t vel_cap = -1;
  bool vel_on_device = false;
  // backward from given head gradients (on the model's device)
  const float* dlogits = nullptr;
  int64_t dlogits_n = -1;
  const float* dvel = nullptr;
  int64_t dvel_n = -1;
  bool given_grads = false;
  // infer
  KvCacheHandle* cache = nullptr;
  Napi::ObjectReference cache_ref;
  bool write = false, extend_last = false;
  float* last_logits = nullptr;
  int64_t last_logits_cap = -1;
  const float* latents_dev = nullptr;
  int64_t latents_n = -1;
  float* seg_logits = nullptr;
  int64_t seg_logits_cap = -1;

  void Execute() override {
    try {
      if (kind_ == kForward) {
        MotModel* m = owner_->model();
        status_ = m->check_batch(batch);
        if (!status_.ok()) return;
        status_ = m->forward(batch, w_ce, w_mse, &losses_, nullptr, nullptr, loss);
        if (status_.ok()) {
          // optional outputs: copied after the forward knows the counts (checked against capacity)
          const MotConfig& c = m->config();
          if (logits_out) {
            if (logits_cap != m->last_n_ce() * c.vocab)
              status_ = Status::Error(Code::E_SHAPE, "model.forward: option 'logits' expected " + std::to_string(m->last_n_ce()) + " x " +
                                                         std::to_string(c.vocab) + " elements (one row per CE target), received " + std::to_string(logits_cap));
            else
              status_ = logits_on_device ? m->copy_logits_device(logits_out) : m->copy_logits(logits_out);
          }
          if (status_.ok() && vel_out) {
            if (vel_cap != m->last_n_noisy() * c.latent_channels)
              status_ = Status::Error(Code::E_SHAPE, "model.forward: option 'velocities' expected " + std::to_string(m->last_n_noisy()) + " x " +
                                                         std::to_string(c.latent_channels) + " elements (one row per noisy latent token), received " + std::to_string(vel_cap));
            else
              status_ = vel_on_device ? m->copy_velocities_device(vel_out) : m->copy_velocities(vel_out);
          }
        }
      } else if (kind_ == kInfer) {
        MotModel* m = owner_->model();
        const MotConfig& c = m->config();
        if (last_logits && last_logits_cap != c.vocab) {
          status_ = Status::Error(Code::E_SHAPE, "model.infer: option 'lastLogits' expected " + std::to_string(c.vocab) + " elements, received " + std::to_string(last_logits_cap));
          return;
        }
        if (vel_out) {
          int64_t noisy = 0;
          for (int64_t i = 0; i < batch.N; ++i) noisy += batch.kind[i] == kTokNoisyLatent ? 1 : 0;
          if (vel_cap != noisy * c.latent_channels) {
            status_ = Status::Error(Code::E_SHAPE, "model.infer: option 'velocities' expected " + std::to_string(noisy) + " x " +
                                                       std::to_string(c.latent_channels) + " elements, received " + std::to_string(vel_cap));
            return;
          }
        }
        if (latents_dev && latents_n != batch.Nl * c.latent_channels) {
          status_ = Status::Error(Code::E_SHAPE, "model.infer: option 'latents' expected " + std::to_string(batch.Nl) + " x " +
                                                     std::to_string(c.latent_channels) + " elements (the batch's latent tokens), received " + std::to_string(latents_n));
          return;
        }
        if (seg_logits && seg_logits_cap != batch.S * c.vocab) {
          status_ = Status::Error(Code::E_SHAPE, "model.infer: option 'segmentLogits' expected " + std::to_string(batch.S) + " x " +
                                                     std::to_string(c.vocab) + " elements (one row per segment of the batch), received " + std::to_string(seg_logits_cap));
          return;
        }
        status_ = m->infer(cache->cache, batch, write, extend_last, last_logits, vel_out, &infer_, latents_dev, vel_on_device, seg_logits);
      } else if (given_grads) {
        MotModel* m = owner_->model();
        const MotConfig& c = m->config();
        if (dlogits && dlogits_n != m->last_n_ce() * c.vocab)
          status_ = Status::Error(Code::E_SHAPE, "model.backward: option 'dlogits' expected " + std::to_string(m->last_n_ce()) + " x " +
                                                     std::to_string(c.vocab) + " elements (the last forward's logits), received " + std::to_string(dlogits_n));
        else if (dvel && dvel_n != m->last_n_noisy() * c.latent_channels)
          status_ = Status::Error(Code::E_SHAPE, "model.backward: option 'dvel' expected " + std::to_string(m->last_n_noisy()) + " x " +
                                                     std::to_string(c.latent_channels) + " elements (the last forward's velocities), received " + std::to_string(dvel_n));
        else
          status_ = m->backward(dlogits, dvel);
      } else {
        status_ = owner_->model()->backward();
      }
      // a CUDA model: wait for the queued kernels, so the promise settles when the work is done (and
      // an asynchronous kernel error belongs to this call, as with the ops)
      if (status_.ok() && owner_->model()->device() != Device::CPU) status_ = device_sync(owner_->model()->device());
    } catch (const std::bad_alloc&) {
      status_ = Status::Error(Code::E_OOM, kind_ == kForward ? "model.forward: out of memory for activations" : "model.backward: out of memory");
    } catch (const std::exception& e) {
      status_ = Status::Error(Code::E_ARG, std::string("model: ") + e.what());
    }
  }
  void finish(Napi::Env env) {
    owner_->busy_ = false;
    owner_->unpin_all(env);
    if (cache) cache->busy = false;
    for (auto& p : held_) p.h->unpin(env);
  }
  void OnOK() override {
    Napi::Env env = Env();
    finish(env);
    if (!status_.ok()) {
      deferred_.Reject(make_error(env, status_).Value());
      return;
    }
    if (kind_ == kForward) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("ce", losses_.ce);
      o.Set("mse", losses_.mse);
      o.Set("loss", losses_.loss);
      o.Set("nCe", static_cast<double>(losses_.n_ce));
      o.Set("nMse", static_cast<double>(losses_.n_mse));
      deferred_.Resolve(o);
    } else if (kind_ == kInfer) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("nNoisy", static_cast<double>(infer_.n_noisy));
      o.Set("hasLogits", infer_.has_logits);
      o.Set("cached", static_cast<double>(cache->cache.n));
      deferred_.Resolve(o);
    } else {
      deferred_.Resolve(env.Undefined());
    }
  }
  void OnError(const Napi::Error& e) override {
    finish(Env());
    deferred_.Reject(e.Value());
  }

 private:
  ModelHandle* owner_;
  Kind kind_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_ref_;
  std::vector<PinnedTensor> held_;
  Status status_;
  MotLosses losses_;
  InferResult infer_;
};

// forward(batch: {ids, kind, expert, pos, seg, vitPatches, vitPos, latents, latentPos, latentT,
//                 ceTargets?, mseTarget?, mseMask?}, opts: {wCe, wMse, logits?, velocities?}) -> Promise
// Reads a batch object into w->batch, holding its tensors for the worker's lifetime.
void read_batch(Napi::Env env, Napi::Object b, ModelWorker* w, const MotConfig& c, const std::string& op) {
  auto field = [&](const char* key, DType dt, bool required) -> TensorHandle* {
    Napi::Value v = b.Get(key);
    if (v.IsUndefined() || v.IsNull()) {
      if (required) throw make_error(env, Code::E_ARG, std::string(op) + ": batch field '" + key + "' is required");
      return nullptr;
    }
    TensorHandle* h = tensor_arg(env, v, std::string(op) + ": batch field '" + key + "'", dt);
    w->hold(h, v.As<Napi::Object>());
    return h;
  };
  TensorHandle* ids = field("ids", DType::I32, true);
  int64_t N = ids->view().numel();
  auto need = [&](TensorHandle* h, const char* key, int64_t n) {
    if (h && h->view().numel() != n)
      throw make_error(env, Code::E_SHAPE, std::string(op) + ": batch field '" + key + "' expected " + std::to_string(n) +
                                               " elements, received shape " + h->view().shape_str());
  };
  TensorHandle* kind = field("kind", DType::I32, true);
  TensorHandle* expert = field("expert", DType::I32, true);
  TensorHandle* pos = field("pos", DType::I32, true);
  TensorHandle* seg = field("seg", DType::I32, true);
  need(kind, "kind", N);
  need(expert, "expert", N);
  need(pos, "pos", N);
  if (seg->view().numel() % 4) throw make_error(env, Code::E_SHAPE, std::string(op) + ": batch field 'seg' expected [S, 4], received " + seg->view().shape_str());
  TensorHandle* vp = field("vitPatches", DType::F32, true);
  TensorHandle* vpos = field("vitPos", DType::I32, true);
  TensorHandle* lat = field("latents", DType::F32, true);
  TensorHandle* lpos = field("latentPos", DType::I32, true);
  TensorHandle* lt = field("latentT", DType::F32, true);
  if (vp->view().numel() % c.vit_patch_dim)
    throw make_error(env, Code::E_SHAPE, std::string(op) + ": batch field 'vitPatches' expected [Nv, " + std::to_string(c.vit_patch_dim) + "], received " + vp->view().shape_str());
  if (lat->view().numel() % c.latent_channels)
    throw make_error(env, Code::E_SHAPE, std::string(op) + ": batch field 'latents' expected [Nl, " + std::to_string(c.latent_channels) + "], received " + lat->view().shape_str());
  int64_t Nv = vp->view().numel() / c.vit_patch_dim, Nl = lat->view().numel() / c.latent_channels;
  need(vpos, "vitPos", Nv);
  need(lpos, "latentPos", Nl);
  need(lt, "latentT", Nl);
  TensorHandle* cet = field("ceTargets", DType::I32, false);
  TensorHandle* mt = field("mseTarget", DType::F32, false);
  TensorHandle* mm = field("mseMask", DType::F32, false);
  need(cet, "ceTargets", N);
  need(mt, "mseTarget", Nl * c.latent_channels);
  need(mm, "mseMask", Nl);
  MotBatch& mb = w->batch;
  mb.N = N;
  mb.ids = ids->view().i32();
  mb.kind = kind->view().i32();
  mb.expert = expert->view().i32();
  mb.pos = pos->view().i32();
  mb.seg = seg->view().i32();
  mb.S = seg->view().numel() / 4;
  mb.vit_patches = vp->view().f32();
  mb.vit_pos = vpos->view().i32();
  mb.Nv = Nv;
  mb.latents = lat->view().f32();
  mb.latent_pos = lpos->view().i32();
  mb.latent_t = lt->view().f32();
  mb.Nl = Nl;
  mb.ce_targets = cet ? cet->view().i32() : nullptr;
  mb.mse_target = mt ? mt->view().f32() : nullptr;
  mb.mse_mask = mm ? mm->view().f32() : nullptr;
}

Napi::Value ModelHandle::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_usable(env, "forward");
  if (info.Length() < 1 || !info[0].IsObject()) throw make_error(env, Code::E_ARG, "model.forward(batch, opts): expected a batch object");
  Napi::Object b = info[0].As<Napi::Object>();
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  auto* w = new ModelWorker(env, this, info.This().As<Napi::Object>(), ModelWorker::kForward);
  try {
    read_batch(env, b, w, model_->config(), "model.forward");
    w->w_ce = num(opts, "wCe", false, 1.0);
    w->w_mse = num(opts, "wMse", false, 1.0);
    w->loss = num(opts, "loss", false, 1) != 0;
    const Device md = model_->device();
    for (const char* key : {"logits", "velocities"}) {
      Napi::Value v = opts.Get(key);
      if (v.IsUndefined() || v.IsNull()) continue;
      TensorHandle* h = tensor_arg(env, v, std::string("model.forward: option '") + key + "'", DType::F32);
      w->hold(h, v.As<Napi::Object>());
      const bool on_dev = h->view().device == md;
      if (!on_dev && h->view().device != Device::CPU)
        throw make_error(env, Code::E_DEVICE, std::string("model.forward: option '") + key + "' expected a tensor in host memory or on the model's device");
      if (key[0] == 'l') { w->logits_out = h->view().f32(); w->logits_cap = h->view().numel(); w->logits_on_device = on_dev; }
      else { w->vel_out = h->view().f32(); w->vel_cap = h->view().numel(); w->vel_on_device = on_dev; }
    }
  } catch (...) {
    w->finish(env);
    delete w;
    throw;
  }
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ModelHandle::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_usable(env, "backward");
  auto* w = new ModelWorker(env, this, info.This().As<Napi::Object>(), ModelWorker::kBackward);
  try {
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object opts = info[0].As<Napi::Object>();
      w->given_grads = true;
      for (const char* key : {"dlogits", "dvel"}) {
        Napi::Value v = opts.Get(key);
        if (v.IsUndefined() || v.IsNull()) continue;
        TensorHandle* h = tensor_arg(env, v, std::string("model.backward: option '") + key + "'", DType::F32);
        if (h->view().device != model_->device())
          throw make_error(env, Code::E_DEVICE, std::string("model.backward: option '") + key + "' expected a tensor on the model's device");
        w->hold(h, v.As<Napi::Object>());
        if (key[1] == 'l') { w->dlogits = h->view().f32(); w->dlogits_n = h->view().numel(); }
        else { w->dvel = h->view().f32(); w->dvel_n = h->view().numel(); }
      }
    }
  } catch (...) {
    w->finish(env);
    delete w;
    throw;
  }
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// infer(cache, batch, {write, extendLast, lastLogits?, velocities?}) -> Promise<{nNoisy, hasLogits, cached}>
Napi::Value ModelHandle::Infer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_usable(env, "infer");
  if (info.Length() < 2 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(KvCacheHandle::ctor->Value()) || !info[1].IsObject())
    throw make_error(env, Code::E_ARG, "model.infer(cache, batch, opts): expected (KvCache, object, object)");
  KvCacheHandle* cache = KvCacheHandle::Unwrap(info[0].As<Napi::Object>());
  if (cache->busy) throw make_error(env, Code::E_ARG, "model.infer: the cache is in use by another pass");
  Napi::Object opts = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  auto* w = new ModelWorker(env, this, info.This().As<Napi::Object>(), ModelWorker::kInfer);
  try {
    read_batch(env, info[1].As<Napi::Object>(), w, model_->config(), "model.infer");
    w->cache = cache;
    w->cache_ref = Napi::Persistent(info[0].As<Napi::Object>());
    w->write = num(opts, "write", false, 0) != 0;
    w->extend_last = num(opts, "extendLast", false, 0) != 0;
    const Device md = model_->device();
    for (const char* key : {"lastLogits", "velocities", "latents", "segmentLogits"}) {
      Napi::Value v = opts.Get(key);
      if (v.IsUndefined() || v.IsNull()) continue;
      TensorHandle* h = tensor_arg(env, v, std::string("model.infer: option '") + key + "'", DType::F32);
      const Device td = h->view().device;
      const bool is_latents = std::string(key) == "latents";
      if (is_latents && td != md)
        throw make_error(env, Code::E_DEVICE, "model.infer: option 'latents' expected a tensor on the model's device");
      if (td != md && td != Device::CPU)
        throw make_error(env, Code::E_DEVICE, std::string("model.infer: option '") + key + "' expected a tensor in host memory or on the model's device");
      w->hold(h, v.As<Napi::Object>());
      if (is_latents) { w->latents_dev = h->view().f32(); w->latents_n = h->view().numel(); }
      else if (std::string(key) == "segmentLogits") {
        if (td != Device::CPU) throw make_error(env, Code::E_DEVICE, "model.infer: option 'segmentLogits' expected a tensor in host memory");
        w->seg_logits = h->view().f32(); w->seg_logits_cap = h->view().numel();
      }
      else if (key[0] == 'l') {
        if (td != Device::CPU) throw make_error(env, Code::E_DEVICE, "model.infer: option 'lastLogits' expected a tensor in host memory");
        w->last_logits = h->view().f32(); w->last_logits_cap = h->view().numel();
      } else { w->vel_out = h->view().f32(); w->vel_cap = h->view().numel(); w->vel_on_device = td == md; }
    }
  } catch (...) {
    w->finish(env);
    delete w;
    throw;
  }
  cache->busy = true;
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ModelHandle::SetFrozen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_usable(env, "setFrozen");
  if (info.Length() != 2 || !info[0].IsBoolean() || !info[1].IsBoolean())
    throw make_error(env, Code::E_ARG, "model.setFrozen(und, gen): expected two booleans");
  model_->set_frozen(info[0].As<Napi::Boolean>().Value(), info[1].As<Napi::Boolean>().Value());
  return env.Undefined();
}

Napi::Value ModelHandle::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) return env.Undefined();
  if (busy_) throw make_error(env, Code::E_ARG, "model.dispose: a forward/backward is still running (await it first)");
  disposed_ = true;
  for (auto& p : pinned_) p.h->release(env);
  pinned_.clear();
  model_.reset();
  return env.Undefined();
}

}  // namespace

Napi::Function InitModelHandle(Napi::Env env) {
  Napi::Function fn = ModelHandle::DefineClass(env, "NativeModel",
                                               {
                                                   ModelHandle::InstanceMethod("forward", &ModelHandle::Forward),
                                                   ModelHandle::InstanceMethod("backward", &ModelHandle::Backward),
                                                   ModelHandle::InstanceMethod("infer", &ModelHandle::Infer),
                                                   ModelHandle::InstanceMethod("setFrozen", &ModelHandle::SetFrozen),
                                                   ModelHandle::InstanceMethod("dispose", &ModelHandle::Dispose),
                                                   ModelHandle::InstanceAccessor("busy", &ModelHandle::GetBusy, nullptr),
                                               });
  ModelHandle::ctor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

Napi::Function InitKvCache(Napi::Env env) {
  Napi::Function fn = KvCacheHandle::DefineClass(env, "NativeKvCache",
                                                 {
                                                     KvCacheHandle::InstanceAccessor("length", &KvCacheHandle::GetLength, nullptr),
                                                     KvCacheHandle::InstanceMethod("clear", &KvCacheHandle::Clear),
                                                     KvCacheHandle::InstanceMethod("clone", &KvCacheHandle::Clone),
                                                     KvCacheHandle::InstanceMethod("segments", &KvCacheHandle::Segments),
                                                 });
  KvCacheHandle::ctor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

Napi::Value ModelLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MotConfig cfg = parse_config(info.Length() ? info[0] : env.Undefined());
  ParamLayout L = make_layout(cfg);
  Napi::Array out = Napi::Array::New(env, L.specs.size());
  for (size_t i = 0; i < L.specs.size(); ++i) {
    const ParamSpec& s = L.specs[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", s.name);
    Napi::Array shape = Napi::Array::New(env, s.shape.size());
    for (size_t d = 0; d < s.shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(s.shape[d]));
    o.Set("shape", shape);
    o.Set("init", init_name(s.init));
    o.Set("std", s.std);
    o.Set("owner", owner_name(s.owner));
    o.Set("decay", s.decay);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace mc
