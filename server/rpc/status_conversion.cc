#include "server/rpc/status_conversion.h"

#include <string>

#include "server/log/log.h"

namespace temoin::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss) {
    // The detail stays in the local log; the peer learns only that something failed.
    log::Error("internal_error", {{"code", std::string(absl::StatusCodeToString(status.code()))},
                                  {"detail", status.message()}});
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
  // absl and gRPC share numeric codes.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace temoin::server
