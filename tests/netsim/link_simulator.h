#ifndef TEMOIN_TESTS_NETSIM_LINK_SIMULATOR_H_
#define TEMOIN_TESTS_NETSIM_LINK_SIMULATOR_H_

// A field link on loopback: a transparent TCP proxy on 127.0.0.1 that forwards every
// accepted connection to a target port on 127.0.0.1, with
//   - a bandwidth cap per direction (bits/s; bytes are serialised one after another on
//     the "air", as on a 2G bearer),
//   - an added one-way latency (after serialisation),
//   - connection cuts: each connection is reset after a random number of bytes (both
//     directions counted together), drawn from a seeded distribution, so a run is
//     reproducible from its seed.
// Bytes in flight at a cut (read from one side, not yet delivered to the other) are
// lost, as on a real link. Every byte is counted: forwarded (delivered) per direction,
// and lost in cuts per direction.
//
// Thread-safe: Start()/Stop() from one thread; counters() and SetCutsEnabled() from any.
// Traffic only ever goes to 127.0.0.1.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace temoin::netsim {

enum class CutDistribution {
  kUniform,      // uniform in [mean/2, 3*mean/2]
  kExponential,  // memoryless, mean `mean` (min 1 byte)
};

struct LinkOptions {
  int target_port = 0;                   // on 127.0.0.1
  int listen_port = 0;                   // 0: any free port
  int64_t up_bits_per_s = 0;             // client -> target; 0: unlimited
  int64_t down_bits_per_s = 0;           // target -> client; 0: unlimited
  std::chrono::milliseconds latency{0};  // one way, added to each direction
  int64_t cut_mean_bytes = 0;            // 0: never cut
  CutDistribution cut_distribution = CutDistribution::kUniform;
  uint64_t seed = 1;
  // Bytes read from a sender but not yet delivered, per direction, before the proxy stops
  // reading (the modem's buffer). Bounds what a cut can lose.
  int64_t queue_bytes = 16 * 1024;
};

struct LinkCounters {
  int64_t up_forwarded = 0;    // delivered to the target
  int64_t down_forwarded = 0;  // delivered to the client
  int64_t up_lost = 0;         // read from the client, dropped by a cut
  int64_t down_lost = 0;       // read from the target, dropped by a cut
  int64_t cuts = 0;            // connections reset by the simulator
  int64_t connections = 0;     // connections accepted
};

// The n-th connection's cut point (bytes, both directions), a pure function of the
// options' seed, mean and distribution; 0 when cuts are off. Exposed for tests and for
// printing a run's schedule.
int64_t CutPoint(const LinkOptions& options, int64_t connection_index);

class LinkSimulator {
 public:
  explicit LinkSimulator(LinkOptions options);
  ~LinkSimulator();  // Stop()
  LinkSimulator(const LinkSimulator&) = delete;
  LinkSimulator& operator=(const LinkSimulator&) = delete;

  // Binds 127.0.0.1:listen_port and starts accepting. kInternal when it cannot bind.
  absl::Status Start();
  // Resets every open connection and joins all threads. Idempotent.
  void Stop();

  int port() const { return port_; }
  const LinkOptions& options() const { return options_; }
  LinkCounters counters() const;
  void ResetCounters();
  // Turns cuts off (or back on) for connections accepted from now on.
  void SetCutsEnabled(bool enabled) { cuts_enabled_ = enabled; }

  struct Connection;  // internal

 private:
  void AcceptLoop();

  const LinkOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cuts_enabled_{true};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Connection>> connections_;
  int64_t next_index_ = 0;

 public:
  // Counters, updated by connection threads.
  std::atomic<int64_t> up_forwarded_{0}, down_forwarded_{0}, up_lost_{0}, down_lost_{0}, cuts_{0},
      accepted_{0};
};

// A listening TCP socket on 127.0.0.1:`port` (0: any free port) with SO_REUSEADDR:
// {fd, the port it got}. Shared by the simulator and the benchmark's counting relay.
struct LoopbackListener {
  int fd = -1;
  int port = 0;
};
absl::StatusOr<LoopbackListener> ListenOnLoopback(int port, int backlog);

}  // namespace temoin::netsim

#endif  // TEMOIN_TESTS_NETSIM_LINK_SIMULATOR_H_
