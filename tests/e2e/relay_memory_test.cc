// Issue 15, item 4: relays are spooled to disk, not gathered in memory. A monitor makes
// a bundle holding a 32 MiB attachment; four other devices relay it at the same time
// (128 MiB in flight) of a record that the server already holds. The server's resident memory may
// grow by at most kBoundMiB over what it held before the relays; gathering the bundles in memory,
// as the server once did, needs at least a copy of each (128 MiB) and three more during the import.
// Each carrier is told its relay arrived; the record is stored once.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/raw_client.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

constexpr int kCarriers = 4;
constexpr size_t kAttachmentMiB = 32;
constexpr int64_t kBoundMiB = 64;

// Incompressible, so that nothing on the way can make it smaller than it is.
std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::copy_n(reinterpret_cast<const char*>(&v), 8, out.data() + i);
  }
  return out;
}

// The server's resident size once it has given back what its last work freed (its
// trimmer runs every 2 s): the first of three samples 1 s apart that agree within 1 MiB.
int64_t SettledRssKib(pid_t pid) {
  std::vector<int64_t> samples;
  for (int i = 0; i < 30; ++i) {
    samples.push_back(UsageOf(pid).rss_kib);
    const size_t n = samples.size();
    if (n >= 3 && std::abs(samples[n - 1] - samples[n - 3]) < 1024 &&
        std::abs(samples[n - 2] - samples[n - 3]) < 1024) {
      return samples[n - 3];
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return samples.back();
}

// The server's largest resident size while `work` runs, sampled every 10 ms.
template <typename Work>
int64_t PeakRssKibDuring(pid_t pid, Work work) {
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{UsageOf(pid).rss_kib};
  std::thread sampler([&] {
    while (!done.load()) {
      peak = std::max<int64_t>(peak.load(), UsageOf(pid).rss_kib);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  work();
  done = true;
  sampler.join();
  return std::max<int64_t>(peak.load(), UsageOf(pid).rss_kib);
}

TEST(RelayMemoryTest, ParallelLargeRelaysStayWithinTheStatedBound) {
  absl::StatusOr<std::unique_ptr<Deployment>> made =
      Deployment::Create("temoin-e2e-relay-memory", /*monitors=*/1 + kCarriers);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  const std::string& maker = d.monitors()[0];
  for (const std::string& home : d.monitors()) ASSERT_TRUE(d.Run(home, {"sync"}).ok());

  const std::string attachment = d.dir().Sub("recording.bin");
  ASSERT_TRUE(WriteFile(attachment, RandomBytes(kAttachmentMiB << 20, 7)).ok());
  TestimonyGenerator testimonies(15);
  auto recorded = d.Record(maker, {testimonies.Next()}, {"--attach", attachment});
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  const std::string bundle = d.dir().Sub("maker.bundle");
  ASSERT_TRUE(d.Run(maker, {"bundle", "export", bundle}).ok());
  for (int i = 1; i <= kCarriers; ++i) {
    ASSERT_TRUE(d.Run(d.monitors()[i], {"bundle", "import", bundle}).ok());
  }
  // The maker also finds a link: the server stores the attachment once, through the
  // maker, before the relays. So what the server holds while they run is the relays'
  // cost alone, not its store's write buffers taking 32 MiB of new data.
  ASSERT_TRUE(d.Run(maker, {"sync"}).ok());

  const int64_t before_kib = SettledRssKib(d.server_pid());
  std::vector<CommandResult> results(kCarriers);
  const int64_t peak_kib = PeakRssKibDuring(d.server_pid(), [&] {
    std::vector<std::thread> carriers;
    for (int i = 0; i < kCarriers; ++i) {
      carriers.emplace_back([&, i] { results[i] = d.Temoin(d.monitors()[i + 1], {"sync"}); });
    }
    for (std::thread& t : carriers) t.join();
  });

  for (const CommandResult& r : results) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "relayed")) << r.err;
  }
  const int64_t growth_mib = (peak_kib - before_kib) / 1024;
  std::cout << "server RSS before " << before_kib / 1024 << " MiB, peak during " << kCarriers
            << " parallel relays of " << kAttachmentMiB << " MiB: " << peak_kib / 1024 << " MiB (+"
            << growth_mib << ")\n";
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LE(growth_mib, kBoundMiB) << "relays are held in memory";
#endif

  // Relayed four times, stored once.
  absl::StatusOr<Deployment::ServerListing> listing = d.ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->record_ids.size(), 1u);
  EXPECT_EQ(listing->log_entries, 1u);
}

}  // namespace
}  // namespace temoin::e2e
