#ifndef TEMOIN_TESTS_PG_PG_CLUSTER_H_
#define TEMOIN_TESTS_PG_PG_CLUSTER_H_

#include <memory>
#include <string>

// A throwaway PostgreSQL 15 primary + synchronous standby on loopback (tests/pg/pg-up.sh),
// started once per test binary. Tests that need it call Get() and GTEST_SKIP with
// SkipReason() when it could not start (no postgresql-15, or root without the postgres
// user).
namespace temoin::testing {

class PgCluster {
 public:
  // Starts it on first use; null when it cannot run here (see SkipReason()).
  static PgCluster* Get();
  static const std::string& SkipReason();
  ~PgCluster();

  // libpq conninfo: both nodes, target_session_attrs=read-write.
  const std::string& conninfo() const { return conninfo_; }
  // The folder holding both nodes' data directories (owned by postgres).
  const std::string& dir() const { return dir_; }
  // The primary alone (the promoted standby after PromoteStandby()).
  std::string primary_conninfo() const;
  // The primary's port on 127.0.0.1 (for a proxy in front of it).
  int primary_port() const { return primary_port_; }
  // Stops / starts the synchronous standby (writes then wait for it).
  bool StopStandby();
  bool StartStandby();
  // Failover: SIGKILLs the primary's postmaster (its backends exit when they notice);
  // the pid killed, or 0. Then PromoteStandby() makes the standby the primary
  // (pg_ctl promote -w) and Sql() goes to it.
  int KillPrimary();
  bool PromoteStandby();
  // Runs SQL on the primary with psql; returns its unaligned output (trimmed), or
  // "ERROR" when psql failed.
  std::string Sql(const std::string& sql) const;
  // Empties the store's tables (each test starts from an empty store).
  void Reset() const;

 private:
  PgCluster(std::string dir, int port, std::string conninfo)
      : dir_(std::move(dir)), port_(port), conninfo_(std::move(conninfo)) {}
  std::string dir_;
  int port_;
  int primary_port_ = port_;
  std::string conninfo_;
};

}  // namespace temoin::testing

#endif  // TEMOIN_TESTS_PG_PG_CLUSTER_H_
