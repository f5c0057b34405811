#include "tests/netsim/link_simulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>

#include "absl/strings/str_cat.h"

namespace temoin::netsim {
namespace {

using Clock = std::chrono::steady_clock;

// SplitMix64: a tiny, fully specified generator, so that a seed gives the same cut
// points with any standard library.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void HardClose(int fd) {
  // RST instead of FIN: a dropped link does not say goodbye.
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  shutdown(fd, SHUT_RDWR);
}

}  // namespace

int64_t CutPoint(const LinkOptions& options, int64_t connection_index) {
  if (options.cut_mean_bytes <= 0) return 0;
  const uint64_t r =
      SplitMix64(options.seed * 0x100000001b3ull + static_cast<uint64_t>(connection_index));
  const int64_t mean = options.cut_mean_bytes;
  if (options.cut_distribution == CutDistribution::kUniform) {
    return std::max<int64_t>(1,
                             mean / 2 + static_cast<int64_t>(r % static_cast<uint64_t>(mean + 1)));
  }
  const double u = static_cast<double>(r >> 11) * 0x1.0p-53;  // [0, 1)
  return std::max<int64_t>(1, static_cast<int64_t>(-static_cast<double>(mean) * std::log1p(-u)));
}

struct Packet {
  Clock::time_point deliver_at;
  std::string data;  // empty: end of stream
};

struct Direction {
  int from = -1, to = -1;
  int64_t bits_per_s = 0;
  std::deque<Packet> queue;
  int64_t queued = 0;
  Clock::time_point link_free{};
  bool delivered_eof = false;
  std::atomic<int64_t>* forwarded = nullptr;
  std::atomic<int64_t>* lost = nullptr;
};

struct LinkSimulator::Connection {
  LinkSimulator* sim = nullptr;
  int client_fd = -1, server_fd = -1;
  int64_t cut_at = 0;  // 0: never
  std::mutex mu;
  std::condition_variable cv;
  int64_t offered = 0;  // bytes taken into the link, both directions
  bool dead = false;
  Direction dirs[2];  // 0: up (client -> target), 1: down
  std::thread supervisor;

  // Under mu. Drops everything in flight and resets both sockets.
  void KillLocked(bool is_cut) {
    if (dead) return;
    dead = true;
    for (Direction& d : dirs) {
      *d.lost += d.queued;
      d.queue.clear();
      d.queued = 0;
    }
    HardClose(client_fd);
    HardClose(server_fd);
    if (is_cut) ++sim->cuts_;
    cv.notify_all();
  }

  void Read(Direction& d) {
    const int64_t chunk =
        d.bits_per_s > 0 ? std::clamp<int64_t>(d.bits_per_s / 8 / 100, 256, 16384) : 65536;
    std::string buffer(static_cast<size_t>(chunk), '\0');
    const auto latency = sim->options_.latency;
    const int64_t queue_limit = sim->options_.queue_bytes;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return dead || sim->stop_ || d.queued < queue_limit; });
        if (dead || sim->stop_) return;
      }
      pollfd p{d.from, POLLIN, 0};
      int ready = poll(&p, 1, 50);
      if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
      ssize_t n = ready < 0 ? -1 : recv(d.from, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      std::unique_lock<std::mutex> lock(mu);
      if (n < 0) {  // reset by an end: the other end gets a reset too
        KillLocked(/*is_cut=*/false);
        return;
      }
      if (dead) {
        *d.lost += n;
        return;
      }
      if (n == 0) {
        d.queue.push_back(Packet{std::max(Clock::now(), d.link_free) + latency, ""});
        cv.notify_all();
        return;
      }
      int64_t keep = n;
      if (cut_at > 0 && offered + n >= cut_at) keep = cut_at - offered;
      offered += keep;
      if (keep > 0) {
        const Clock::time_point start = std::max(Clock::now(), d.link_free);
        const auto air = d.bits_per_s > 0
                             ? std::chrono::nanoseconds(keep * 8 * 1'000'000'000 / d.bits_per_s)
                             : std::chrono::nanoseconds(0);
        d.link_free = start + std::chrono::duration_cast<Clock::duration>(air);
        d.queue.push_back(
            Packet{d.link_free + latency, buffer.substr(0, static_cast<size_t>(keep))});
        d.queued += keep;
        cv.notify_all();
      }
      if (keep < n) {
        // Bytes past the cut point never entered the link: the proxy only read them
        // early. Not counted, so that forwarded + lost is exactly the cut point.
        KillLocked(/*is_cut=*/true);
        return;
      }
    }
  }

  void Write(Direction& d) {
    for (;;) {
      std::string data;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return dead || sim->stop_ || !d.queue.empty(); });
        if (dead || sim->stop_) return;
        const Clock::time_point when = d.queue.front().deliver_at;
        if (cv.wait_until(lock, when, [&] { return dead || sim->stop_; })) return;
        data = std::move(d.queue.front().data);
        d.queue.pop_front();
        d.queued -= static_cast<int64_t>(data.size());
        cv.notify_all();
        if (data.empty()) {
          shutdown(d.to, SHUT_WR);
          d.delivered_eof = true;
          return;
        }
      }
      size_t sent = 0;
      while (sent < data.size()) {
        ssize_t n = send(d.to, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      *d.forwarded += static_cast<int64_t>(sent);
      if (sent < data.size()) {
        std::unique_lock<std::mutex> lock(mu);
        *d.lost += static_cast<int64_t>(data.size() - sent);
        KillLocked(/*is_cut=*/false);
        return;
      }
    }
  }

  void Run() {
    std::thread threads[4] = {
        std::thread([this] { Read(dirs[0]); }), std::thread([this] { Write(dirs[0]); }),
        std::thread([this] { Read(dirs[1]); }), std::thread([this] { Write(dirs[1]); })};
    for (std::thread& t : threads) t.join();
    close(client_fd);
    close(server_fd);
  }
};

LinkSimulator::LinkSimulator(LinkOptions options) : options_(std::move(options)) {}

LinkSimulator::~LinkSimulator() { Stop(); }

absl::StatusOr<LoopbackListener> ListenOnLoopback(int port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, backlog) != 0) {
    absl::Status error = absl::InternalError(absl::StrCat("bind/listen: ", strerror(errno)));
    close(fd);
    return error;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return LoopbackListener{fd, ntohs(addr.sin_port)};
}

absl::Status LinkSimulator::Start() {
  absl::StatusOr<LoopbackListener> listener = ListenOnLoopback(options_.listen_port, 256);
  if (!listener.ok()) {
    return absl::InternalError(absl::StrCat("netsim: ", listener.status().message()));
  }
  listen_fd_ = listener->fd;
  port_ = listener->port;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void LinkSimulator::Stop() {
  if (stop_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(connections_);
  }
  for (auto& c : all) {
    {
      std::lock_guard<std::mutex> lock(c->mu);
      c->KillLocked(/*is_cut=*/false);
    }
    if (c->supervisor.joinable()) c->supervisor.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

LinkCounters LinkSimulator::counters() const {
  return LinkCounters{up_forwarded_.load(), down_forwarded_.load(), up_lost_.load(),
                      down_lost_.load(),    cuts_.load(),           accepted_.load()};
}

void LinkSimulator::ResetCounters() {
  up_forwarded_ = down_forwarded_ = up_lost_ = down_lost_ = cuts_ = accepted_ = 0;
}

void LinkSimulator::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(options_.target_port));
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      // No server (it is down): the client sees a reset, as through a real relay.
      if (server >= 0) close(server);
      HardClose(client);
      close(client);
      continue;
    }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Connection>();
    c->sim = this;
    c->client_fd = client;
    c->server_fd = server;
    c->dirs[0].from = client;
    c->dirs[0].to = server;
    c->dirs[0].bits_per_s = options_.up_bits_per_s;
    c->dirs[0].forwarded = &up_forwarded_;
    c->dirs[0].lost = &up_lost_;
    c->dirs[1].from = server;
    c->dirs[1].to = client;
    c->dirs[1].bits_per_s = options_.down_bits_per_s;
    c->dirs[1].forwarded = &down_forwarded_;
    c->dirs[1].lost = &down_lost_;
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t index = next_index_++;
    c->cut_at = cuts_enabled_ ? CutPoint(options_, index) : 0;
    ++accepted_;
    Connection* raw = c.get();
    c->supervisor = std::thread([raw] { raw->Run(); });
    connections_.push_back(std::move(c));
  }
}

}  // namespace temoin::netsim
