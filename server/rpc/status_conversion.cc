#include "server/rpc/status_conversion.h"

#include <iostream>
#include <string>

namespace temoin::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss) {
    std::cerr << "temoin-server: " << status << "\n";
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
  // absl and gRPC share numeric codes.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace temoin::server
