// Disk full on the server, for real: the server's data directory on a small tmpfs that
// a filler file fills to the last byte. A sync is refused with RESOURCE_EXHAUSTED and a
// clear message, no receipt is given and nothing leaves the device; once the filler is
// deleted, `sync --until-done` completes without a server restart and every record is
// stored exactly once. Synthetic data only.
//
// Mounting needs root (CAP_SYS_ADMIN); where it is refused the test says so and is
// skipped. The in-process variant (store_crash_test, an ENOSPC file system under the
// real Core) always runs.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;

constexpr int kRecords = 40;

// A tmpfs of `megabytes` at `path`, unmounted on destruction.
class SmallDisk {
 public:
  static absl::StatusOr<std::unique_ptr<SmallDisk>> Mount(const std::string& path, int megabytes) {
    if (mkdir(path.c_str(), 0700) != 0) return absl::InternalError(std::strerror(errno));
    std::string options = absl::StrCat("size=", megabytes, "m,mode=0700");
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      return absl::PermissionDeniedError(std::strerror(errno));
    }
    return std::unique_ptr<SmallDisk>(new SmallDisk(path));
  }
  ~SmallDisk() { umount2(path_.c_str(), MNT_DETACH); }
  const std::string& path() const { return path_; }

 private:
  explicit SmallDisk(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Writes `path` until the file system has no byte left; returns the bytes written.
absl::StatusOr<uint64_t> FillUp(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  std::string block(64 << 10, 'f');
  uint64_t written = 0;
  for (size_t size = block.size(); size > 0;) {
    ssize_t n = write(fd, block.data(), size);
    if (n > 0) {
      written += n;
    } else if (n < 0 && errno == ENOSPC) {
      size /= 2;  // fill the last partial block too
    } else if (n < 0 && errno != EINTR) {
      close(fd);
      return absl::InternalError(std::strerror(errno));
    }
  }
  fsync(fd);
  close(fd);
  return written;
}

TEST(DiskFullTest, FullServerDiskRefusesWithoutReceiptAndSyncCompletesOnceSpaceIsFreed) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-disk-full", /*monitors=*/1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];

  // The same server data, moved onto a 16 MiB disk and served from there: smaller than
  // the WAL that RocksDB preallocates (1.1 x the 16 MiB memtable), so the preallocation
  // fails and the writes after FillUp meet a full disk rather than space reserved earlier.
  d.StopServer();
  absl::StatusOr<std::unique_ptr<SmallDisk>> disk = SmallDisk::Mount(d.dir().Sub("disk"), 16);
  if (!disk.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.status();
  const std::string data = (*disk)->path() + "/server";
  absl::StatusOr<CommandResult> copied = RunCommand({"/bin/cp", "-a", d.server_data(), data});
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_EQ(copied->exit_code, 0) << copied->err;
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(ServerBinary(), data, d.port(), d.dir().Sub("small-disk-server.log"));
  ASSERT_TRUE(server.ok()) << server.status();

  TestimonyGenerator generator(/*seed=*/20261127);
  std::vector<v1::Testimony> testimonies;
  for (int i = 0; i < kRecords; ++i) testimonies.push_back(generator.Next());
  ASSERT_TRUE(d.Record(monitor, testimonies).ok());

  const std::string filler = (*disk)->path() + "/filler";
  absl::StatusOr<uint64_t> filled = FillUp(filler);
  ASSERT_TRUE(filled.ok()) << filled.status();
  CommandResult refused = d.Temoin(monitor, {"sync"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("server storage is full"))
      << refused.err << "\nserver log:\n"
      << ReadFile(d.dir().Sub("small-disk-server.log")).value_or("(none)");
  absl::StatusOr<nlohmann::json> counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["purged"], 0) << counts->dump();  // no receipt, nothing let go
  EXPECT_EQ((*counts)["sealed"].get<int>() + (*counts)["committed"].get<int>(), kRecords)
      << counts->dump();

  // Space comes back; the running server recovers on its own.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  CommandResult done =
      d.Temoin(monitor, {"sync", "--until-done", "--max-time", "90"}, std::chrono::seconds(150));
  ASSERT_EQ(done.exit_code, 0) << done.err << "\nserver log:\n"
                               << ReadFile(d.dir().Sub("small-disk-server.log")).value_or("(none)");
  counts = d.RecordCounts(monitor);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["purged"], kRecords) << counts->dump();
  absl::StatusOr<Deployment::ServerListing> listing = Deployment::ListServerRecordsIn(data);
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(listing->log_entries, static_cast<uint64_t>(kRecords));
  server->reset();  // stop it before the disk goes
}

}  // namespace
}  // namespace temoin::e2e
