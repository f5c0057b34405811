#include "server/app/grpc_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace temoin::server {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(Core* core, const TlsIdentity& tls,
                                                              const std::string& listen,
                                                              const ServerLimits& limits) {
  if (absl::Status s = DisableTlsSessionTickets(); !s.ok()) return s;
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->env_ = std::make_unique<CallEnv>(core, limits.calls);
  server->enrollment_ = std::make_unique<EnrollmentService>(server->env_.get());
  server->admin_ = std::make_unique<AdminService>(server->env_.get());
  server->sync_ = std::make_unique<SyncService>(server->env_.get());
  server->review_ = std::make_unique<ReviewService>(server->env_.get());
  server->auth_ = std::make_shared<AuthProcessor>(&core->sessions(), &server->env_->call_rate());

  grpc::SslServerCredentialsOptions ssl_options;
  ssl_options.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.certificate_pem});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(ssl_options);
  credentials->SetAuthMetadataProcessor(server->auth_);

  // gRPC's own grpc.health.v1 service; process-wide, read when a server is built.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, credentials, &server->port_);
  builder.RegisterService(server->enrollment_.get());
  builder.RegisterService(server->admin_.get());
  builder.RegisterService(server->sync_.get());
  builder.RegisterService(server->review_.get());
  // Limits from reference/security-reliability.md §3: bounded memory under many slow
  // clients, a handshake timeout longer than slow links need but finite (a connection
  // that completes TLS and never sends its HTTP/2 settings is closed at its end too),
  // and no ping storms. Every service is on the callback API, so gRPC's thread count
  // does not grow with open calls; the blocking work has its own fixed pool (CallEnv).
  grpc::ResourceQuota quota("temoin-server");
  quota.Resize(static_cast<size_t>(limits.memory_bytes));
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(limits.max_message_bytes);
  builder.SetMaxSendMessageSize(4 << 20);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // A fixed receive window of 256 KiB a stream, not gRPC's bandwidth-delay probing: on a
  // fast path to a busy server the probe grew each upload stream's window to several MiB
  // of unread data (relay_memory_test: +65 to +80 MiB for four relays on a loaded
  // machine, +8 to +16 MiB with this). 256 KiB still covers 3 Mbit/s at a 600 ms
  // satellite round trip, more than any link our devices have; on 4 Mbit/s + 300 ms the
  // 5 MB attachment bench took 143.8 s with probing and 143.9 s without.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 256 << 10);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 3600 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 600 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             limits.connection_idle_seconds * 1000);
  // No message compression either way (records are compressed before sealing, and
  // compression beside secrets is a length oracle): grpc-accept-encoding then says
  // "identity" alone, 13 B less in each call's response headers on 2G.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  // The built-in service starts out SERVING; the caller says when the store is proven
  // writable (HealthReporter).
  server->SetServing(false);
  return server;
}

void GrpcServer::SetServing(bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
}

}  // namespace temoin::server
