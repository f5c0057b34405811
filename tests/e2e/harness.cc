#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace temoin::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// This process's environment with `extra` overriding same-named variables. The strings
// must outlive the spawn; the returned pointers point into `storage`.
std::vector<char*> BuildEnv(const EnvVars& extra, std::vector<std::string>* storage) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : extra) vars[name] = value;
  storage->clear();
  for (const auto& [name, value] : vars) storage->push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp;
  for (std::string& s : *storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  return envp;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Spawns argv with stdin on /dev/null and stdout/stderr on the given descriptors.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const EnvVars& env, int stdout_fd,
                            int stderr_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<std::string> argv_storage = argv;
  std::vector<char*> args;
  for (std::string& a : argv_storage) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  std::vector<char*> envp = BuildEnv(env, &env_storage);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, /*attrp=*/nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

// Both ends close-on-exec: the child gets only the dup2'd copies, so our read ends see
// EOF as soon as the child (and anything it forked) exits.
absl::Status MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const EnvVars& env,
                                         std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (absl::Status s = MakePipe(out_pipe); !s.ok()) return s;
  if (absl::Status s = MakePipe(err_pipe); !s.ok()) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return s;
  }
  absl::StatusOr<pid_t> pid = Spawn(argv, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!pid.ok()) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return pid.status();
  }

  CommandResult result;
  const Clock::time_point deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buffer[1 << 16];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(*pid, SIGKILL);
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      kill(*pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open_count;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeWaitStatus(status);
  return result;
}

CommandResult RunTemoin(const std::string& client, const std::string& home,
                        const std::vector<std::string>& args, const std::string& passphrase,
                        const EnvVars& env, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {client, "--home", home};
  argv.insert(argv.end(), args.begin(), args.end());
  EnvVars vars = {{"TEMOIN_PASSPHRASE", passphrase}};
  vars.insert(vars.end(), env.begin(), env.end());
  absl::StatusOr<CommandResult> r = RunCommand(argv, vars, timeout);
  if (!r.ok()) return CommandResult{.exit_code = -1, .err = r.status().ToString()};
  return *r;
}

absl::StatusOr<int> PickFreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status s = ErrnoError("bind 127.0.0.1:0");
    close(fd);
    return s;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool PortAcceptsConnections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (ok) {
    // With nothing listening, a connect to a loopback port in the ephemeral range can
    // pick that very port as its source and connect to itself (TCP simultaneous open):
    // that is no server.
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    ok = getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
         local.sin_port != addr.sin_port;
  }
  close(fd);
  return ok;
}

absl::StatusOr<TempDir> TempDir::Create(absl::string_view prefix) {
  const char* base = getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoError("mkdtemp");
  return TempDir(pattern);
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

std::string TempDir::Sub(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

void TempDir::Remove() {
  if (path_.empty()) return;
  if (getenv("TEMOIN_E2E_KEEP") != nullptr) {
    fprintf(stderr, "e2e: keeping %s (TEMOIN_E2E_KEEP is set)\n", path_.c_str());
  } else {
    std::error_code ignored;  // best effort: a leftover temp dir must not fail a test
    fs::remove_all(path_, ignored);
  }
  path_.clear();
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& server_binary, const std::string& data_dir, int port,
    const std::string& log_path, const EnvVars& env, std::chrono::milliseconds ready_timeout,
    const std::vector<std::string>& extra_args) {
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoError(absl::StrCat("open ", log_path));
  std::vector<std::string> argv = {server_binary, "run", "--data", data_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_fd, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  // Owned from here on, so that every early return below still stops it.
  std::unique_ptr<ServerProcess> server(new ServerProcess(*pid, port));

  auto log_tail = [&log_path] {
    absl::StatusOr<std::string> log = ReadFile(log_path);
    if (!log.ok()) return std::string("(no log)");
    return log->size() > 2000 ? log->substr(log->size() - 2000) : *log;
  };
  const Clock::time_point deadline = Clock::now() + ready_timeout;
  while (!PortAcceptsConnections(port)) {
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;  // already reaped
      return absl::InternalError(absl::StrCat("temoin-server exited with code ",
                                              DecodeWaitStatus(status), " before serving; log:\n",
                                              log_tail()));
    }
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("temoin-server did not accept connections on ", "127.0.0.1:", port,
                       " within ", ready_timeout.count(), " ms; log:\n", log_tail()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Something accepted: it must be this process, still running.
  int status = 0;
  if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
    server->pid_ = -1;
    return absl::InternalError(absl::StrCat("temoin-server exited with code ",
                                            DecodeWaitStatus(status),
                                            " as its port began to accept; log:\n", log_tail()));
  }
  return server;
}

ServerProcess::~ServerProcess() { Stop(); }

int ServerProcess::Terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const Clock::time_point deadline = Clock::now() + grace;
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  // A clean shutdown flushes the store; give it a few seconds before forcing it.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const EnvVars& env, const std::string& log_path) {
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ErrnoError(absl::StrCat("open ", log_path));
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_fd, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid));
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  exit_code_ = DecodeWaitStatus(status);
  pid_ = -1;
  return false;
}

int ChildProcess::Terminate(std::chrono::milliseconds grace, int signal) {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, signal);
  const Clock::time_point deadline = Clock::now() + grace;
  while (Running()) {
    if (Clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

namespace {

int Occurrences(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

absl::Status AwaitInFile(const std::string& path, const std::string& needle, int times,
                         std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (Occurrences(ReadFile(path).value_or(""), needle) >= times) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat("\"", needle, "\" did not appear ", times,
                                                  " times in ", path, ":\n",
                                                  ReadFile(path).value_or("(unreadable)")));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return contents.str();
}

absl::Status WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::vector<Hit> FindInTree(const std::string& root, const std::vector<std::string>& needles) {
  // Group needles by a short prefix: most files hold none of the prefixes (markers share
  // theirs), so hundreds of needles cost a few passes over each file, not hundreds.
  constexpr size_t kPrefixBytes = 8;
  std::map<std::string, std::vector<const std::string*>> by_prefix;
  for (const std::string& needle : needles) {
    if (needle.empty()) continue;
    by_prefix[needle.substr(0, kPrefixBytes)].push_back(&needle);
  }
  std::vector<Hit> hits;
  auto scan_file = [&by_prefix, &hits](const std::string& path) {
    absl::StatusOr<std::string> bytes = ReadFile(path);
    if (!bytes.ok()) {
      hits.push_back({path, "<unreadable>"});
      return;
    }
    for (const auto& [prefix, group] : by_prefix) {
      if (bytes->find(prefix) == std::string::npos) continue;
      for (const std::string* needle : group) {
        if (bytes->find(*needle) != std::string::npos) hits.push_back({path, *needle});
      }
    }
  };
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    scan_file(root);
    return hits;
  }
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) {
    hits.push_back({root, "<unreadable>"});
    return hits;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      hits.push_back({root, "<unreadable>"});
      break;
    }
    if (!it->is_regular_file(ec)) continue;
    scan_file(it->path().string());
  }
  return hits;
}

std::vector<Hit> FindInTree(const std::string& root, const std::string& needle) {
  return FindInTree(root, std::vector<std::string>{needle});
}

}  // namespace temoin::e2e
