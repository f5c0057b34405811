#ifndef TEMOIN_TESTS_E2E_HARNESS_H_
#define TEMOIN_TESTS_E2E_HARNESS_H_

// Helpers for end-to-end tests that drive the real `temoin` and `temoin-server`
// binaries on loopback: child processes, ports, temporary directories and plaintext
// scans (synthetic testimonies are in synthetic_testimony.h). Not thread-safe; meant
// for one test thread.

#include <sys/types.h>

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin::e2e {

// Environment variables set (or overridden) in a child on top of this process's own.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct CommandResult {
  int exit_code = -1;  // WEXITSTATUS, or 128 + signal when the child was killed
  bool timed_out = false;
  std::string out;  // everything the child wrote to stdout
  std::string err;  // everything the child wrote to stderr
};

// Runs argv[0] (a path; no PATH lookup) with stdin on /dev/null, so a passphrase
// prompt can never hang a test. stdout and stderr are drained concurrently, so a child
// that fills one pipe while we wait on the other cannot deadlock. After `timeout` the
// child is killed with SIGKILL and `timed_out` is set. Fails only when the process
// cannot be started.
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv, const EnvVars& env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// `client --home HOME args...` with TEMOIN_PASSPHRASE set (plus `env`); exit_code -1 and
// the reason in `err` when it could not be started.
CommandResult RunTemoin(const std::string& client, const std::string& home,
                        const std::vector<std::string>& args, const std::string& passphrase,
                        const EnvVars& env = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A loopback TCP port that was free a moment ago (bound to 127.0.0.1:0, then closed).
// Another process may take it in between; good enough on a test machine.
absl::StatusOr<int> PickFreeLoopbackPort();

// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAcceptsConnections(int port);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on
// destruction unless TEMOIN_E2E_KEEP is set in the environment (to inspect a failure).
class TempDir {
 public:
  static absl::StatusOr<TempDir> Create(absl::string_view prefix = "temoin-e2e");
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string Sub(absl::string_view name) const;  // path() + "/" + name

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();
  std::string path_;
};

// `temoin-server run --data DIR`, started by Start() and stopped (SIGTERM, then SIGKILL
// after a grace period) and reaped on destruction. Its stdout and stderr go to
// `log_path`, which the caller may scan too.
class ServerProcess {
 public:
  // Starts the server and waits up to `ready_timeout` until `port` accepts TCP
  // connections. kDeadlineExceeded (with the log's tail) when it does not, kInternal
  // when the process exits early or cannot be spawned.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& server_binary, const std::string& data_dir, int port,
      const std::string& log_path, const EnvVars& env = {},
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(15),
      const std::vector<std::string>& extra_args = {});  // after `run --data DIR`

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }

  // SIGTERM, then waits up to `grace` for the server to exit: its exit code (128 +
  // signal when a signal ended it), or -1 when it was still running at `grace` and had
  // to be SIGKILLed.
  int Terminate(std::chrono::milliseconds grace);

 private:
  ServerProcess(pid_t pid, int port) : pid_(pid), port_(port) {}
  void Stop();
  pid_t pid_;
  int port_;
};

// A process left running while the test goes on (`temoin sync --watch`): stdin on
// /dev/null, stdout and stderr appended to `log_path`. SIGKILLed and reaped on
// destruction unless Terminate() reaped it first.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const EnvVars& env,
                                                             const std::string& log_path);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Whether it is still running; reaps it (and keeps its exit code) when it is not.
  bool Running();
  // `signal`, then waits up to `grace`: the exit code (128 + signal when a signal ended
  // it), or -1 when it had to be SIGKILLed at `grace`.
  int Terminate(std::chrono::milliseconds grace, int signal = SIGTERM);
  int exit_code() const { return exit_code_; }  // -1 while running

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  int exit_code_ = -1;
};

// Waits until the file at `path` (a child's log) holds `needle` at least `times` times;
// kDeadlineExceeded with the file's contents after `timeout`. Polls every 10 ms.
absl::Status AwaitInFile(const std::string& path, const std::string& needle, int times,
                         std::chrono::milliseconds timeout);

// Reads a whole file (binary). kNotFound / kInternal on failure.
absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, absl::string_view contents);

// One occurrence of a needle in a file.
struct Hit {
  std::string path;
  std::string needle;
};

// Scans every byte of `root` if it is a file, else of every regular file under it
// (recursively, not following symlinks), and returns where any of `needles` occurs.
// Each file is read once, whatever the number of needles. An unreadable file or
// directory is reported as a hit with needle "<unreadable>", so that a scan can never
// pass by skipping what it could not read.
std::vector<Hit> FindInTree(const std::string& root, const std::vector<std::string>& needles);
std::vector<Hit> FindInTree(const std::string& root, const std::string& needle);

}  // namespace temoin::e2e

#endif  // TEMOIN_TESTS_E2E_HARNESS_H_
