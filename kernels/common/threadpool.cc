#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace mc {
namespace {

constexpr int kMaxThreads = 256;

struct Pool {
  std::vector<std::thread> workers;
  int capacity = 1;      // workers + the calling thread
  std::atomic<int> threads{1};
  std::mutex region_mu;  // one parallel region at a time
  std::mutex mu;
  std::condition_variable cv_start, cv_done;
  uint64_t generation = 0;
  int active = 0;     // worker ids 1..active take part in the current region
  int remaining = 0;  // of those, how many have not finished it
  // the current region
  RangeFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n = 0, grain = 1;
  std::atomic<int64_t> next{0};
};

thread_local bool tl_in_region = false;

int default_threads() {
  if (const char* e = std::getenv("METACOT_THREADS")) {
    int v = std::atoi(e);
    if (v > 0) return std::min(v, kMaxThreads);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return std::max(1, std::min<int>(hc ? static_cast<int>(hc) : 1, kMaxThreads));
}

void run_chunks(Pool& p, int tid) {
  for (;;) {
    int64_t b = p.next.fetch_add(p.grain, std::memory_order_relaxed);
    if (b >= p.n) break;
    p.fn(p.ctx, b, std::min(p.n, b + p.grain), tid);
  }
}

void worker_main(Pool* p, int tid) {
  tl_in_region = true;  // a parallel_for issued by a kernel running here stays serial
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lk(p->mu);
  for (;;) {
    p->cv_start.wait(lk, [&] { return p->generation != seen; });
    seen = p->generation;
    if (tid > p->active) continue;
    lk.unlock();
    run_chunks(*p, tid);
    lk.lock();
    if (--p->remaining == 0) p->cv_done.notify_one();
  }
}

Pool& pool() {
  // Leaked on purpose: detached workers block forever on the condition variable, and a pool
  // destroyed during static destruction while a worker still waits would crash the process on exit.
  static Pool* p = [] {
    auto* q = new Pool();
    int n = default_threads();
    q->capacity = n;
    q->threads.store(n);
    for (int t = 1; t < n; ++t) {
      std::thread th(worker_main, q, t);
      th.detach();
    }
    return q;
  }();
  return *p;
}

}  // namespace

int num_threads() { return pool().threads.load(); }
int max_threads() { return pool().capacity; }
void set_num_threads(int n) {
  Pool& p = pool();
  p.threads.store(std::max(1, std::min(n, p.capacity)));
}

void parallel_for_raw(int64_t n, int64_t grain, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  Pool& p = pool();
  int nt = p.threads.load();
  if (tl_in_region || nt <= 1 || n <= grain) {
    fn(ctx, 0, n, 0);  // serial: whole range on this thread, thread index 0 of a region of one
    return;
  }
  std::lock_guard<std::mutex> region(p.region_mu);
  int64_t chunks = (n + grain - 1) / grain;
  int helpers = static_cast<int>(std::min<int64_t>(nt - 1, chunks - 1));
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.fn = fn;
    p.ctx = ctx;
    p.n = n;
    p.grain = grain;
    p.next.store(0, std::memory_order_relaxed);
    p.active = helpers;
    p.remaining = helpers;
    ++p.generation;
  }
  p.cv_start.notify_all();
  tl_in_region = true;
  run_chunks(p, 0);
  tl_in_region = false;
  std::unique_lock<std::mutex> lk(p.mu);
  p.cv_done.wait(lk, [&] { return p.remaining == 0; });
}

}  // namespace mc
