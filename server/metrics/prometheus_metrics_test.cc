// The Prometheus exposure: loopback only, and a scrape shows what the core counted,
// under the documented names, with labels from fixed sets.

#include "server/metrics/prometheus_metrics.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/metrics_scrape.h"

namespace temoin::server {
namespace {

using ::temoin::e2e::Scrape;

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(CheckLoopbackAddressTest, AcceptsLoopbackOnly) {
  EXPECT_TRUE(CheckLoopbackAddress("127.0.0.1:9464").ok());
  EXPECT_TRUE(CheckLoopbackAddress("127.8.9.10:1").ok());
  EXPECT_TRUE(CheckLoopbackAddress("[::1]:9464").ok());
  for (const char* refused : {"0.0.0.0:9464", "192.168.1.5:9464", "10.0.0.1:80", "[::]:9464",
                              "localhost:9464", ":9464", "9464", "127.0.0.1", "127.0.0.1:0",
                              "127.0.0.1:70000", "127.1:9464", "example.org:9464", ""}) {
    absl::Status s = CheckLoopbackAddress(refused);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << refused;
    EXPECT_NE(s.message().find("--metrics"), std::string_view::npos) << refused;
  }
}

TEST(PrometheusMetricsTest, RefusesToStartOnAPublicAddress) {
  EXPECT_EQ(PrometheusMetrics::Start("0.0.0.0:9464", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PrometheusMetricsTest, AScrapeShowsWhatWasCounted) {
  const int port = FreeLoopbackPort();
  ScrapedGauges gauges;
  gauges.open_sessions = [] { return size_t{3}; };
  gauges.store_path = ::testing::TempDir();
  gauges.data_path = ::testing::TempDir();
  gauges.store_memory = [] { return std::optional<uint64_t>(12345); };
  absl::StatusOr<std::unique_ptr<PrometheusMetrics>> m =
      PrometheusMetrics::Start(absl::StrCat("127.0.0.1:", port), gauges);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->port(), port);
  Metrics& metrics = **m;
  metrics.CountRecord(RecordOutcome::kAccepted, absl::StatusCode::kOk);
  metrics.CountRecord(RecordOutcome::kAccepted, absl::StatusCode::kOk);
  metrics.CountRecord(RecordOutcome::kRefused, absl::StatusCode::kUnauthenticated);
  metrics.CountSignIn(absl::StatusCode::kOk);
  metrics.CountSignIn(absl::StatusCode::kPermissionDenied);
  metrics.CountAttachmentPiece();
  metrics.CountBytesIn(1000);
  metrics.CountBytesOut(250);
  metrics.ObserveCommitSeconds(0.004);

  const std::string body = Scrape(port);
  ASSERT_NE(body.find("200 OK"), std::string::npos) << body;
  for (const char* line :
       {"temoin_records_total{outcome=\"accepted\",reason=\"ok\"} 2",
        "temoin_records_total{outcome=\"refused\",reason=\"unauthenticated\"} 1",
        "temoin_sign_ins_total{result=\"ok\"} 1",
        "temoin_sign_ins_total{result=\"permission_denied\"} 1", "temoin_attachment_pieces_total 1",
        "temoin_received_bytes_total 1000", "temoin_sent_bytes_total 250",
        "temoin_commit_seconds_count 1", "temoin_commit_seconds_bucket{le=\"0.005\"} 1",
        "temoin_open_sessions 3", "temoin_store_bytes ", "temoin_disk_free_bytes ",
        "temoin_store_memory_bytes 12345"}) {
    EXPECT_NE(body.find(line), std::string::npos) << "missing: " << line << "\n" << body;
  }
}

TEST(PrometheusMetricsTest, APortInUseIsUnavailable) {
  const int port = FreeLoopbackPort();
  auto first = PrometheusMetrics::Start(absl::StrCat("127.0.0.1:", port), {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(PrometheusMetrics::Start(absl::StrCat("127.0.0.1:", port), {}).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace temoin::server
