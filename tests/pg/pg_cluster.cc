#include "tests/pg/pg_cluster.h"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace temoin::testing {
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";
std::string skip_reason;

std::string Run(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return out;
  }
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  *exit_code = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return free;
}

// Two adjacent free ports (primary, standby), from a range the kernel does not hand out
// as ephemeral ports by default.
int FreePortPair() {
  const int start = 20000 + static_cast<int>(getpid() % 5000) * 2;
  for (int port = start; port < start + 2000; port += 2) {
    if (PortFree(port) && PortFree(port + 1)) return port;
  }
  return 0;
}

std::unique_ptr<PgCluster>& Instance() {
  static std::unique_ptr<PgCluster> instance;
  return instance;
}

}  // namespace

PgCluster* PgCluster::Get() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (access((std::string(kPgBin) + "/initdb").c_str(), X_OK) != 0) {
      skip_reason = "PostgreSQL 15 is not installed (apt-get install postgresql-15)";
      return;
    }
    if (getuid() == 0 && getpwnam("postgres") == nullptr) {
      skip_reason = "running as root and there is no 'postgres' user to run PostgreSQL as";
      return;
    }
    char dir[] = "/tmp/temoin-pg.XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      skip_reason = "cannot make a temporary folder";
      return;
    }
    const int port = FreePortPair();
    int code = 0;
    const std::string conninfo = Run(std::string(TEMOIN_SOURCE_DIR) + "/tests/pg/pg-up.sh " + dir +
                                         " " + std::to_string(port) + " 2>&1",
                                     &code);
    if (code != 0 || port == 0) {
      std::fprintf(stderr, "pg-up.sh failed:\n%s\n", conninfo.c_str());
      skip_reason = "tests/pg/pg-up.sh could not start PostgreSQL (output above)";
      Run(std::string(TEMOIN_SOURCE_DIR) + "/tests/pg/pg-down.sh " + dir, &code);
      return;
    }
    Instance().reset(new PgCluster(dir, port, conninfo));
    std::atexit([] { Instance().reset(); });
  });
  return Instance().get();
}

const std::string& PgCluster::SkipReason() { return skip_reason; }

PgCluster::~PgCluster() {
  int code = 0;
  Run(std::string(TEMOIN_SOURCE_DIR) + "/tests/pg/pg-down.sh " + dir_, &code);
}

std::string PgCluster::primary_conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(primary_port_) + " user=temoin dbname=temoin";
}

bool PgCluster::StopStandby() {
  int code = 0;
  Run(std::string(TEMOIN_SOURCE_DIR) + "/tests/pg/pg-standby.sh " + dir_ + " stop", &code);
  return code == 0;
}

bool PgCluster::StartStandby() {
  int code = 0;
  Run(std::string(TEMOIN_SOURCE_DIR) + "/tests/pg/pg-standby.sh " + dir_ + " start", &code);
  return code == 0;
}

int PgCluster::KillPrimary() {
  int code = 0;
  // postmaster.pid's first line is the postmaster's pid (the file is readable by all).
  const std::string pid = Run("head -n 1 " + dir_ + "/p/postmaster.pid", &code);
  if (code != 0 || pid.empty() || std::atoi(pid.c_str()) <= 0) return 0;
  return kill(std::atoi(pid.c_str()), SIGKILL) == 0 ? std::atoi(pid.c_str()) : 0;
}

bool PgCluster::PromoteStandby() {
  int code = 0;
  const std::string as_pg = getuid() == 0 ? "runuser -u postgres -- " : "";
  Run(as_pg + kPgBin + "/pg_ctl -D " + dir_ + "/r -w -t 60 promote 2>&1", &code);
  if (code != 0) return false;
  primary_port_ = port_ + 1;
  return true;
}

std::string PgCluster::Sql(const std::string& sql) const {
  int code = 0;
  std::string quoted;
  for (char c : sql) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  std::string out = Run(std::string(kPgBin) + "/psql -X -q -At -v ON_ERROR_STOP=1 '" +
                            primary_conninfo() + "' -c '" + quoted + "' 2>&1",
                        &code);
  return code == 0 ? out : "ERROR: " + out;
}

void PgCluster::Reset() const { Sql("DROP TABLE IF EXISTS kv, log_head, counters"); }

}  // namespace temoin::testing
