#ifndef TEMOIN_CLIENT_CLI_STOP_SIGNALS_H_
#define TEMOIN_CLIENT_CLI_STOP_SIGNALS_H_

#include <atomic>
#include <thread>

namespace temoin::client::cli {

// SIGINT and SIGTERM for a command that stays up (`sync --watch`). While it waits, they
// make stop_fd() readable, so that it stops cleanly (the vault closes and its keys are
// wiped). While it works (a sync), they end the process at once, as they end any other
// command: a sync is safe to cut at any point. Construct before any thread starts
// (RocksDB's, gRPC's): the signals are blocked in every thread and read by one of this
// class's own, since a signal sent to the process may land in any thread that does not
// block it.
class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals();  // the signals end the process again, as in any command

  // Readable once a signal came while waiting.
  int stop_fd() const { return stop_[0]; }
  void SetWaiting(bool waiting) {
    waiting_ = waiting;
    watched_ = true;
  }

 private:
  void Listen();
  int signal_fd_ = -1;
  int stop_[2] = {-1, -1};
  int quit_[2] = {-1, -1};
  std::atomic<bool> waiting_{false};
  std::atomic<bool> watched_{false};  // past the passphrase and the first round's start
  std::thread listener_;
};

}  // namespace temoin::client::cli

#endif  // TEMOIN_CLIENT_CLI_STOP_SIGNALS_H_
