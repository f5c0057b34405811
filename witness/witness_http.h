#ifndef TEMOIN_WITNESS_WITNESS_HTTP_H_
#define TEMOIN_WITNESS_WITNESS_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "witness/witness.h"

// The witness over HTTP (cpp-httplib), as c2sp.org/tlog-witness lays it out:
//   POST /add-checkpoint                      text/plain body; 200 with the cosignature
//                                             line, or the spec's 400/403/404/409/422
//   GET  /<sha256(origin) hex>/checkpoint     the latest cosigned checkpoint, or 404
// Plain HTTP: requests carry their own authentication (the log's signature) and answers
// are public, signed data, so TLS would add only secrecy of public checkpoints; an
// operator who wants it puts a TLS reverse proxy in front (docs/admin-guide.md).
namespace temoin::witness {

class WitnessHttpServer {
 public:
  // Binds HOST:PORT (PORT 0: any free port) and serves on a thread of its own.
  // `witness` is not owned and must outlive the server. kUnavailable if it cannot bind.
  static absl::StatusOr<std::unique_ptr<WitnessHttpServer>> Start(Witness* witness,
                                                                  const std::string& listen);
  ~WitnessHttpServer();  // stops and joins
  int port() const;
  void Stop();

 private:
  struct Impl;
  explicit WitnessHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace temoin::witness

#endif  // TEMOIN_WITNESS_WITNESS_HTTP_H_
