// A persistent thread pool for the CPU backend. Every CPU kernel parallelises through parallel_for:
// the calling thread works too, chunks are handed out dynamically through an atomic counter (so an
// uneven op — causal attention — still balances), and no allocation happens per call.
// One parallel region runs at a time (ops issued from several libuv workers queue on a mutex);
// a parallel_for issued from inside a worker runs serially instead of deadlocking.
#pragma once
#include <cstdint>
#include <type_traits>

namespace mc {

// fn(ctx, begin, end, thread_index) processes [begin, end).
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end, int thread_index);

int num_threads();              // threads a parallel region uses (METACOT_THREADS, else the core count)
void set_num_threads(int n);    // for tests and benchmarks; takes effect on the next region
int max_threads();              // an upper bound for sizing per-thread scratch: thread_index < max_threads()
void parallel_for_raw(int64_t n, int64_t grain, RangeFn fn, void* ctx);

template <typename F>
inline void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  using Fn = std::remove_reference_t<F>;
  auto tramp = [](void* ctx, int64_t b, int64_t e, int tid) { (*static_cast<Fn*>(ctx))(b, e, tid); };
  parallel_for_raw(n, grain < 1 ? 1 : grain, tramp, const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace mc
