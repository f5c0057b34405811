#include "server/app/witness_transport.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"

namespace temoin::server {
namespace {

class HttpWitnessTransport final : public WitnessTransport {
 public:
  absl::StatusOr<Reply> AddCheckpoint(const std::string& url, const std::string& body) override {
    // The URL is the submission prefix: scheme://host[:port][/path].
    const size_t scheme_end = url.find("://");
    const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    const std::string origin = url.substr(0, path_start);
    const std::string path =
        (path_start == std::string::npos ? std::string() : url.substr(path_start)) +
        "/add-checkpoint";
    httplib::Client client(origin);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    client.enable_server_certificate_verification(true);
    httplib::Result result = client.Post(path, body, "text/plain");
    if (!result) {
      return absl::UnavailableError(
          absl::StrCat("witness ", url, " unreachable: ", httplib::to_string(result.error())));
    }
    return Reply{result->status, result->body};
  }
};

}  // namespace

std::unique_ptr<WitnessTransport> MakeHttpWitnessTransport() {
  return std::make_unique<HttpWitnessTransport>();
}

}  // namespace temoin::server
