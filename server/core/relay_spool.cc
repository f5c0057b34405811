#include "server/core/relay_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/file_util.h"
#include "common/status_macros.h"

namespace temoin::server {
namespace {

absl::Status WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) {
      if (errno == ENOSPC || errno == EDQUOT) {
        return absl::ResourceExhaustedError("the server's disk is full; try again later");
      }
      return absl::UnavailableError("the server cannot write its relay spool");
    }
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return absl::OkStatus();
}

// A file in `dir` that no name points to: it lives while its descriptor is open.
absl::StatusOr<int> OpenAnonymousFile(std::string dir) {
  if (dir.empty()) {  // a server without a data directory (tests)
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  std::string path = dir + "/relay-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError("the server cannot write its relay spool");
  unlink(name.data());
  return fd;
}

}  // namespace

RelaySpool::RelaySpool(Core* core, RelayLimits limits) : core_(core), limits_(std::move(limits)) {}

absl::StatusOr<std::unique_ptr<RelayUpload>> RelaySpool::Begin(const Session& carrier) {
  {
    std::lock_guard lock(mu_);
    int& open = in_flight_[carrier.device_id()];
    if (open >= limits_.max_relays_per_carrier) {
      return absl::ResourceExhaustedError("too many relays in flight from this device");
    }
    ++open;
  }
  absl::StatusOr<int> fd = OpenAnonymousFile(limits_.spool_dir);
  if (!fd.ok()) {
    Release(carrier.device_id(), 0);
    return fd.status();
  }
  return std::unique_ptr<RelayUpload>(new RelayUpload(this, carrier.device_id(), *fd));
}

uint64_t RelaySpool::spooled_bytes() const {
  std::lock_guard lock(mu_);
  return spooled_;
}

absl::Status RelaySpool::Reserve(uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (spooled_ + bytes > limits_.max_spooled_bytes) {
    return absl::ResourceExhaustedError("the server's relay spool is full; try again later");
  }
  spooled_ += bytes;
  return absl::OkStatus();
}

void RelaySpool::Release(const std::string& carrier, uint64_t bytes) {
  std::lock_guard lock(mu_);
  spooled_ -= bytes;
  auto it = in_flight_.find(carrier);
  if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
}

RelayUpload::RelayUpload(RelaySpool* spool, std::string carrier, int fd)
    : spool_(spool), carrier_(std::move(carrier)), fd_(fd) {}

RelayUpload::~RelayUpload() {
  close(fd_);
  spool_->Release(carrier_, bytes_);
}

absl::Status RelayUpload::Append(absl::string_view piece) {
  // The carrier pays for every byte it brings, verified or not; the bundle's device
  // only for its records that verify (ImportBundle).
  TEMOIN_RETURN_IF_ERROR(spool_->core_->ingest().rate_limiter().AdmitBytes(carrier_, piece.size()));
  if (bytes_ + piece.size() > spool_->limits_.max_bytes_per_relay) {
    return absl::ResourceExhaustedError("bundle is over the size limit");
  }
  TEMOIN_RETURN_IF_ERROR(spool_->Reserve(piece.size()));
  bytes_ += piece.size();
  return WriteAll(fd_, piece);
}

absl::StatusOr<BundleImportReport> RelayUpload::Finish() {
  return ImportBundle(*spool_->core_, FileBundleSource(fd_, bytes_));
}

}  // namespace temoin::server
