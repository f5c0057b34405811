#include "witness/witness_http.h"

#include <httplib.h>

#include <iostream>
#include <thread>

#include "absl/memory/memory.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace temoin::witness {
namespace {

// A checkpoint note is at most 16 KiB (crypto/checkpoint.cc), a proof 63 lines.
constexpr size_t kMaxBodyBytes = 32 * 1024;

void AddCheckpointHandler(Witness& witness, const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<AddCheckpointRequest> request = ParseAddCheckpoint(req.body);
  absl::StatusOr<std::string> line = request.ok() ? witness.AddCheckpoint(*request)
                                                  : absl::StatusOr<std::string>(request.status());
  res.status = HttpStatusOf(line.status());
  if (line.ok()) {
    res.set_content(*line, "text/plain; charset=utf-8");
  } else if (std::optional<uint64_t> size = LatestSizeOf(line.status()); size.has_value()) {
    res.set_content(absl::StrCat(*size, "\n"), "text/x.tlog.size");
  } else {
    // Internal details stay in the witness's own log.
    const std::string message =
        res.status == 500 ? std::string("internal error") : std::string(line.status().message());
    if (res.status == 500) std::cerr << "temoin-witness: " << line.status().message() << "\n";
    res.set_content(message + "\n", "text/plain; charset=utf-8");
  }
}

}  // namespace

struct WitnessHttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

WitnessHttpServer::WitnessHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WitnessHttpServer::~WitnessHttpServer() { Stop(); }

int WitnessHttpServer::port() const { return impl_->port; }

void WitnessHttpServer::Stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

absl::StatusOr<std::unique_ptr<WitnessHttpServer>> WitnessHttpServer::Start(
    Witness* witness, const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError("--listen must be HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto impl = std::make_unique<Impl>();
  impl->server.set_payload_max_length(kMaxBodyBytes);
  impl->server.set_read_timeout(10, 0);
  impl->server.set_write_timeout(10, 0);
  impl->server.Post("/add-checkpoint",
                    [witness](const httplib::Request& req, httplib::Response& res) {
                      AddCheckpointHandler(*witness, req, res);
                    });
  impl->server.Get(R"(/([0-9a-f]{64})/checkpoint)", [witness](const httplib::Request& req,
                                                              httplib::Response& res) {
    absl::StatusOr<std::string> note = witness->LatestCheckpoint(req.matches[1].str());
    res.status = note.ok() ? 200 : 404;
    res.set_content(note.ok() ? *note : "no checkpoint cosigned\n", "text/plain; charset=utf-8");
  });
  impl->port = port == 0                               ? impl->server.bind_to_any_port(host)
               : impl->server.bind_to_port(host, port) ? port
                                                       : -1;
  if (impl->port <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  return absl::WrapUnique(new WitnessHttpServer(std::move(impl)));
}

}  // namespace temoin::witness
