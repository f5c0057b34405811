#ifndef TEMOIN_SERVER_RPC_WORK_POOL_H_
#define TEMOIN_SERVER_RPC_WORK_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace temoin::server {

// A fixed set of threads for the blocking part of calls (store reads, fsync'd commits,
// signature checks), so that gRPC's callback threads never wait on a disk and the
// number of threads does not depend on how many calls are open: a waiting stream holds
// no thread, only its reactor's memory. Jobs run in submission order. Thread-safe.
class WorkPool {
 public:
  // `threads` >= 1; at most `max_queued` jobs wait (beyond them TrySubmit refuses, and
  // the call is answered RESOURCE_EXHAUSTED instead of queueing without bound).
  WorkPool(int threads, size_t max_queued);
  ~WorkPool();  // runs the jobs already queued, then joins
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when the queue is full or the pool is stopping; `job` is then not run.
  bool TrySubmit(std::function<void()> job);

  size_t queued() const;

 private:
  void Work();

  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_WORK_POOL_H_
