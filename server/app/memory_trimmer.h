#ifndef TEMOIN_SERVER_APP_MEMORY_TRIMMER_H_
#define TEMOIN_SERVER_APP_MEMORY_TRIMMER_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace temoin::server {

// Gives freed heap memory back to the system. glibc keeps what a burst of calls freed
// (a flood of opened and reset streams frees hundreds of MiB in small pieces) and never
// returns most of it on its own; an attacker could then leave the server's RSS at its
// peak after every flood. Limits malloc to a few arenas (gRPC runs ~20 threads, each of
// which would otherwise get an arena of its own to fragment) and trims every `period`.
// Measured in docs/BENCHMARKS.md ("Floods").
class MemoryTrimmer {
 public:
  // Call before any thread starts: arenas are chosen when a thread first allocates.
  static void LimitArenas();

  explicit MemoryTrimmer(std::chrono::milliseconds period);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_MEMORY_TRIMMER_H_
