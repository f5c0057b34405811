#ifndef TEMOIN_SERVER_RPC_STATUS_CONVERSION_H_
#define TEMOIN_SERVER_RPC_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace temoin::server {

// absl -> gRPC at the edge. kInternal and kDataLoss become a bare "internal error" for
// the peer; the details go to the local log (stderr), which never holds secrets.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_STATUS_CONVERSION_H_
