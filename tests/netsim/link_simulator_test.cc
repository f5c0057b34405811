// The link simulator itself: it must forward faithfully, count exactly, hold its rate
// and latency, and cut where its seed says.

#include "tests/netsim/link_simulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace temoin::netsim {
namespace {

using Clock = std::chrono::steady_clock;

// A loopback server for one connection at a time: echoes or just counts what it reads.
class Peer {
 public:
  explicit Peer(bool echo) : echo_(echo) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Peer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int64_t received() const { return received_; }
  Clock::time_point last_byte() const { return Clock::time_point(Clock::duration(last_byte_)); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buffer[16384];
      for (;;) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 20) == 0) {
          if (stop_) break;
          continue;
        }
        ssize_t n = recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        received_ += n;
        last_byte_ = Clock::now().time_since_epoch().count();
        if (echo_ && send(c, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      }
      close(c);
    }
  }
  const bool echo_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> received_{0};
  std::atomic<Clock::rep> last_byte_{0};
  std::thread thread_;
};

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Sends `bytes` (stops early when the link resets); returns what send() accepted.
int64_t SendAll(int fd, int64_t bytes) {
  std::string block(4096, 'x');
  int64_t sent = 0;
  while (sent < bytes) {
    ssize_t n = send(fd, block.data(), static_cast<size_t>(std::min<int64_t>(4096, bytes - sent)),
                     MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += n;
  }
  return sent;
}

int64_t ReceiveExactly(int fd, int64_t bytes) {
  char buffer[16384];
  int64_t got = 0;
  while (got < bytes) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got += n;
  }
  return got;
}

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(LinkSimulatorTest, ForwardsEveryByteBothWaysAndCountsExactly) {
  Peer echo(/*echo=*/true);
  LinkSimulator link(LinkOptions{.target_port = echo.port()});
  ASSERT_TRUE(link.Start().ok());
  int fd = Connect(link.port());
  std::thread reader([&] { EXPECT_EQ(ReceiveExactly(fd, 300'000), 300'000); });
  EXPECT_EQ(SendAll(fd, 300'000), 300'000);
  reader.join();
  close(fd);
  ASSERT_TRUE(WaitFor([&] { return link.counters().down_forwarded == 300'000; }));
  LinkCounters c = link.counters();
  EXPECT_EQ(c.up_forwarded, 300'000);
  EXPECT_EQ(c.down_forwarded, 300'000);
  EXPECT_EQ(c.up_lost, 0);
  EXPECT_EQ(c.down_lost, 0);
  EXPECT_EQ(c.cuts, 0);
  EXPECT_EQ(c.connections, 1);
}

TEST(LinkSimulatorTest, HoldsTheBandwidthCapWithinTenPercent) {
  Peer sink(/*echo=*/false);
  constexpr int64_t kRate = 800'000;  // bit/s: 100 KB/s
  constexpr int64_t kBytes = 150'000;
  LinkSimulator link(LinkOptions{.target_port = sink.port(), .up_bits_per_s = kRate});
  ASSERT_TRUE(link.Start().ok());
  int fd = Connect(link.port());
  const auto start = Clock::now();
  EXPECT_EQ(SendAll(fd, kBytes), kBytes);
  ASSERT_TRUE(WaitFor([&] { return sink.received() == kBytes; }));
  const double seconds = std::chrono::duration<double>(sink.last_byte() - start).count();
  const double expected = kBytes * 8.0 / kRate;  // 1.5 s
  EXPECT_GT(seconds, expected * 0.9);
  EXPECT_LT(seconds, expected * 1.1);
  close(fd);
}

TEST(LinkSimulatorTest, AddsTheLatencyInEachDirection) {
  Peer echo(/*echo=*/true);
  LinkSimulator link(
      LinkOptions{.target_port = echo.port(), .latency = std::chrono::milliseconds(150)});
  ASSERT_TRUE(link.Start().ok());
  int fd = Connect(link.port());
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    ASSERT_EQ(SendAll(fd, 10), 10);
    ASSERT_EQ(ReceiveExactly(fd, 10), 10);
    const double rtt = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_GT(rtt, 0.300);
    EXPECT_LT(rtt, 0.360);
  }
  close(fd);
}

TEST(LinkSimulatorTest, CutsEachConnectionAtItsSeededByteCountAndCountsTheLoss) {
  Peer sink(/*echo=*/false);
  LinkOptions options{
      .target_port = sink.port(), .up_bits_per_s = 8'000'000, .cut_mean_bytes = 40'000, .seed = 42};
  LinkSimulator link(options);
  ASSERT_TRUE(link.Start().ok());
  int64_t expected_offered = 0;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const int64_t before = sink.received();
    int fd = Connect(link.port());
    const int64_t accepted = SendAll(fd, 64'000'000);  // until the reset
    EXPECT_LT(accepted, 64'000'000);                   // more than any socket buffers
    close(fd);
    ASSERT_TRUE(WaitFor([&] { return link.counters().cuts == i + 1; }));
    const int64_t cut = CutPoint(options, i);
    expected_offered += cut;
    ASSERT_TRUE(WaitFor([&] {
      LinkCounters c = link.counters();
      return c.up_forwarded + c.up_lost == expected_offered;
    })) << "forwarded + lost must be exactly the cut point "
        << cut << ": " << link.counters().up_forwarded << " + " << link.counters().up_lost;
    ASSERT_TRUE(WaitFor([&] { return sink.received() == link.counters().up_forwarded; }));
    EXPECT_LE(sink.received() - before, cut);
  }
  LinkCounters c = link.counters();
  EXPECT_EQ(c.connections, 3);
  EXPECT_EQ(c.down_forwarded + c.down_lost, 0);
}

TEST(LinkSimulatorTest, CutPointsAreAFunctionOfTheSeed) {
  LinkOptions a{.cut_mean_bytes = 65'536, .seed = 7};
  LinkOptions b = a;
  LinkOptions other = a;
  other.seed = 8;
  std::vector<int64_t> first, second, third;
  for (int i = 0; i < 100; ++i) {
    first.push_back(CutPoint(a, i));
    second.push_back(CutPoint(b, i));
    third.push_back(CutPoint(other, i));
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, third);
  for (int64_t cut : first) {
    EXPECT_GE(cut, 32'768);
    EXPECT_LE(cut, 98'304);
  }
  EXPECT_EQ(CutPoint(LinkOptions{.cut_mean_bytes = 0}, 3), 0);
}

TEST(LinkSimulatorTest, ExponentialCutsHaveTheRequestedMean) {
  LinkOptions o{
      .cut_mean_bytes = 65'536, .cut_distribution = CutDistribution::kExponential, .seed = 11};
  double sum = 0;
  constexpr int kDraws = 20'000;
  for (int i = 0; i < kDraws; ++i) sum += static_cast<double>(CutPoint(o, i));
  EXPECT_NEAR(sum / kDraws / 65'536, 1.0, 0.03);
}

}  // namespace
}  // namespace temoin::netsim
