#ifndef TEMOIN_SERVER_APP_GRPC_SERVER_H_
#define TEMOIN_SERVER_APP_GRPC_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/app/data_dir.h"
#include "server/core/core.h"
#include "server/rpc/auth_processor.h"
#include "server/rpc/call_env.h"
#include "server/rpc/services.h"

namespace temoin::server {

// Transport limits (reference/security-reliability.md §3); `temoin-server run` flags.
struct ServerLimits {
  int max_message_bytes = 2 << 20;   // the largest record (1 MiB body) fits
  int max_concurrent_streams = 8;    // per connection
  int64_t memory_bytes = 512 << 20;  // gRPC ResourceQuota: bounded under slow clients
  // A connection with no call open for this long is closed (a device opens a fresh
  // channel for each sync attempt, so only abandoned connections reach it).
  int connection_idle_seconds = 300;
  CallLimits calls;  // per call and per device: see call_env.h
};

// A running gRPC server over TLS with every service and the auth processor wired in.
// Owns the services; the core must outlive it.
class GrpcServer {
 public:
  // Binds `listen` (host:port; port 0 picks a free one, see port()). kUnavailable when
  // the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(Core* core, const TlsIdentity& tls,
                                                           const std::string& listen,
                                                           const ServerLimits& limits = {});
  int port() const { return port_; }
  void Wait() { server_->Wait(); }

  // What gRPC's standard health service (grpc.health.v1.Health/Check, open without a
  // session) answers: NOT_SERVING from Start() until the first SetServing(true).
  // Thread-safe.
  void SetServing(bool serving);

  // Reports NOT_SERVING, stops accepting calls, lets the calls in flight finish (a
  // commit under way is answered with its receipt) for up to `grace`, then cancels
  // what remains. Returns when every call is done; Wait() returns then too.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  GrpcServer() = default;
  std::unique_ptr<CallEnv> env_;  // outlives the services and the server
  std::unique_ptr<EnrollmentService> enrollment_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<ReviewService> review_;
  std::shared_ptr<AuthProcessor> auth_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_GRPC_SERVER_H_
