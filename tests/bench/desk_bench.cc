// The desk over 20,000 records (issue 10's numbers), end to end on loopback: a real
// temoin-server, a monitor that records N synthetic testimonies and syncs, a reviewer
// that pulls them, and `temoin desk --no-open` on the reviewer's home, driven over HTTP
// as the page drives it. Times, each the median of --repeat runs (wall clock, request
// sent to answer read, JSON included):
//   unlock    POST /api/unlock: opening the vault, every record (OpenDesk: chain
//             checks, decryption) and the search index
//   list      GET /api/records: the first page (200 rows), as the page asks for it
//   list_end  GET /api/records?offset=<the last 200>&limit=200: the last page
//   search    GET /api/records?q=<a word in one narrative>
//   filter    GET /api/records?region=..&act=..&victim_sex=female
//   stats     GET /api/stats
//   dups      GET /api/duplicates
// The vault key's Argon2id cost is the floor one (TEMOIN_VAULT_UNLOCK_MS=1, as in the
// e2e tests): add the calibrated cost (~1.5 s by default, vault_bench) to `unlock`.
// Not a test (not registered with ctest). Run:
//   build/tests/bench/desk_bench [--records 20000] [--repeat 5]
// Every person, place and story in the generated testimonies is invented.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

extern char** environ;

namespace temoin::e2e {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "desk_bench: %s\n", what.c_str());
  return 1;
}

int Run(int records, int repeat) {
  auto made = Deployment::Create("temoin-desk-bench", 1);
  if (!made.ok()) return Fail(std::string(made.status().message()));
  Deployment& d = **made;
  const std::string& monitor = d.monitors()[0];
  TestimonyGenerator generator(2026);
  std::string search_word;
  const auto record_start = Clock::now();
  for (int done = 0; done < records;) {
    std::vector<v1::Testimony> batch;
    for (int i = 0; i < 5000 && done < records; ++i, ++done) {
      batch.push_back(generator.Next());
      if (done == records / 2) search_word = TestimonyGenerator::NarrativeMarker(2026, done);
    }
    auto recorded = d.Record(monitor, batch);
    if (!recorded.ok()) return Fail(std::string(recorded.status().message()));
  }
  std::fprintf(stderr, "recorded %d in %.1f s\n", records, Ms(Clock::now() - record_start) / 1000);
  auto synced = d.Run(monitor, {"sync"});
  if (!synced.ok()) return Fail(std::string(synced.status().message()));
  const auto pull_start = Clock::now();
  auto pulled = d.Run(d.reviewer(), {"sync"});
  if (!pulled.ok()) return Fail(std::string(pulled.status().message()));
  std::fprintf(stderr, "reviewer pulled in %.1f s\n", Ms(Clock::now() - pull_start) / 1000);

  const std::string out_path = d.dir().Sub("desk.out");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {ClientBinary(), "--home", d.reviewer(), "desk", "--no-open"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    return Fail("cannot start temoin desk");
  }
  posix_spawn_file_actions_destroy(&actions);
  std::string url;
  for (int i = 0; i < 3000 && url.empty(); ++i) {
    auto text = ReadFile(out_path);
    if (text.ok() && text->find('\n') != std::string::npos) url = Trim(*text);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (url.empty()) return Fail("the desk printed no address");
  const int port = std::stoi(url.substr(17, url.find('/', 17) - 17));
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(300, 0);
  auto redeemed = http.Get(url.substr(url.find('/', 17)).c_str());
  if (!redeemed) return Fail("no answer to the token");
  const std::string set_cookie = redeemed->get_header_value("Set-Cookie");
  const httplib::Headers cookie = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))},
                                   {"Origin", absl::StrCat("http://127.0.0.1:", port)}};

  auto timed = [&](const std::string& path, bool post, std::string* body) -> double {
    const auto start = Clock::now();
    auto res =
        post ? http.Post(path.c_str(), cookie, R"({"passphrase":"correct horse battery staple"})",
                         "application/json")
             : http.Get(path.c_str(), cookie);
    const double ms = Ms(Clock::now() - start);
    if (!res || res->status != 200) {
      std::fprintf(stderr, "%s: %d\n", path.c_str(), res ? res->status : -1);
      std::exit(1);
    }
    if (body) *body = res->body;
    return ms;
  };
  std::vector<double> unlock, list, list_end, search, filter, stats, dups;
  std::string body;
  for (int r = 0; r < repeat; ++r) {
    unlock.push_back(timed("/api/unlock", true, nullptr));
    list.push_back(timed("/api/records", false, &body));
    const auto listed = nlohmann::json::parse(body)["count"].get<int>();
    list_end.push_back(timed(
        absl::StrCat("/api/records?limit=200&offset=", std::max(0, listed - 200)), false, nullptr));
    search.push_back(timed("/api/records?q=" + search_word, false, &body));
    const auto found = nlohmann::json::parse(body)["count"].get<int>();
    filter.push_back(timed("/api/records?region=gao&act=killing&victim_sex=female", false, &body));
    const auto filtered = nlohmann::json::parse(body)["count"].get<int>();
    stats.push_back(timed("/api/stats", false, &body));
    dups.push_back(timed("/api/duplicates", false, &body));
    const auto groups = nlohmann::json::parse(body)["groups"].size();
    if (r == 0) {
      std::printf(
          "records on the desk: %d; search finds %d; filter finds %d; %zu duplicate "
          "groups\n",
          listed, found, filtered, groups);
    }
  }
  std::printf("%-8s %10s %10s\n", "call", "median ms", "max ms");
  for (const auto& [name, v] :
       std::vector<std::pair<const char*, std::vector<double>*>>{{"unlock", &unlock},
                                                                 {"list", &list},
                                                                 {"list_end", &list_end},
                                                                 {"search", &search},
                                                                 {"filter", &filter},
                                                                 {"stats", &stats},
                                                                 {"dups", &dups}}) {
    std::printf("%-8s %10.1f %10.1f\n", name, Median(*v), *std::max_element(v->begin(), v->end()));
  }
  http.Post("/api/close", cookie, "", "text/plain");
  waitpid(pid, nullptr, 0);
  return 0;
}

}  // namespace
}  // namespace temoin::e2e

int main(int argc, char** argv) {
  int records = 20000, repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--records")
      records = std::atoi(argv[i + 1]);
    else if (flag == "--repeat")
      repeat = std::atoi(argv[i + 1]);
    else
      return temoin::e2e::Fail("unknown flag " + flag);
  }
  if (records < 2 || repeat < 1) return temoin::e2e::Fail("--records >= 2, --repeat >= 1");
  return temoin::e2e::Run(records, repeat);
}
