#include <string>

#include "client/desk/desk_api.h"
#include "client/desk/desk_assets.h"
#include "client/desk/desk_guard.h"
#include "client/desk/desk_state.h"
#include "client/sync/admin_client.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace temoin::client::desk {
namespace {

class DeskTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitializeCrypto().ok()); }
};

TEST_F(DeskTest, HostMustNameThisDeskExactly) {
  EXPECT_TRUE(HostAllowed("127.0.0.1:8080", 8080));
  EXPECT_TRUE(HostAllowed("localhost:8080", 8080));
  EXPECT_FALSE(HostAllowed("127.0.0.1:8081", 8080));
  EXPECT_FALSE(HostAllowed("attacker.example:8080", 8080));  // DNS rebinding
  EXPECT_FALSE(HostAllowed("127.0.0.1", 8080));
  EXPECT_FALSE(HostAllowed("", 8080));
}

TEST_F(DeskTest, OriginMustBeTheDesksOwn) {
  EXPECT_TRUE(OriginAllowed("http://127.0.0.1:8080", 8080));
  EXPECT_TRUE(OriginAllowed("http://localhost:8080", 8080));
  EXPECT_FALSE(OriginAllowed("http://evil.example", 8080));
  EXPECT_FALSE(OriginAllowed("null", 8080));
  EXPECT_FALSE(OriginAllowed("", 8080));  // a state change must show its origin
  EXPECT_FALSE(OriginAllowed("https://127.0.0.1:8080", 8080));
  EXPECT_TRUE(ChangesState("POST"));
  EXPECT_TRUE(ChangesState("DELETE"));
  EXPECT_FALSE(ChangesState("GET"));
}

TEST_F(DeskTest, CookieValueFindsTheNamedCookie) {
  EXPECT_EQ(CookieValue("a=1; temoin_desk=abc; b=2", "temoin_desk"), "abc");
  EXPECT_EQ(CookieValue("xtemoin_desk=abc", "temoin_desk"), "");
  EXPECT_EQ(CookieValue("", "temoin_desk"), "");
}

TEST_F(DeskTest, LaunchTokenOpensOneSessionOnce) {
  SessionGate gate;
  EXPECT_EQ(gate.launch_token().size(), 64u);
  EXPECT_FALSE(gate.IsSession(""));
  EXPECT_FALSE(gate.Redeem("wrong").ok());
  absl::StatusOr<std::string> session = gate.Redeem(gate.launch_token());
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(gate.IsSession(*session));
  EXPECT_FALSE(gate.IsSession(gate.launch_token()));
  EXPECT_EQ(gate.Redeem(gate.launch_token()).status().code(), absl::StatusCode::kPermissionDenied);
  std::string cookie = SessionGate::CookieFor(*session);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
}

TEST_F(DeskTest, LockedDeskRefusesAndUnlockFailsWithoutAVault) {
  DeskState state(::testing::TempDir() + "/no-such-home", std::chrono::minutes(15));
  EXPECT_FALSE(state.unlocked());
  EXPECT_EQ(state.lock_due(), Clock::time_point::max());
  bool ran = false;
  absl::Status s = state.WithUnlocked(Clock::now(), [&](Unlocked&) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(state.Unlock("passphrase", Clock::now()).ok());
  EXPECT_TRUE(state.LockIfIdle(Clock::now()));
}

TEST_F(DeskTest, IdleDeskLocksItselfAndActivityPostponesIt) {
  int opened = 0;
  DeskState state(std::chrono::minutes(15),
                  [&](absl::string_view passphrase) -> absl::StatusOr<std::unique_ptr<Unlocked>> {
                    if (passphrase != "right")
                      return absl::UnauthenticatedError("wrong passphrase");
                    ++opened;
                    auto u = std::make_unique<Unlocked>();
                    u->desk.records.emplace_back();
                    u->desk.records.back().testimony.set_narrative("decrypted");
                    u->searchable.push_back("decrypted");
                    return u;
                  });
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(state.Unlock("wrong", t0).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(state.unlocked());
  ASSERT_TRUE(state.Unlock("right", t0).ok());
  EXPECT_EQ(state.lock_due(), t0 + std::chrono::minutes(15));
  auto read = [&](Clock::time_point now) {
    return state.WithUnlocked(now, [](Unlocked& u) {
      return u.desk.records[0].testimony.narrative() == "decrypted"
                 ? absl::OkStatus()
                 : absl::InternalError("not the record");
    });
  };
  EXPECT_TRUE(read(t0 + std::chrono::minutes(14)).ok());
  EXPECT_FALSE(state.LockIfIdle(t0 + std::chrono::minutes(28)));  // 14 min since the read
  EXPECT_TRUE(state.LockIfIdle(t0 + std::chrono::minutes(29)));
  EXPECT_FALSE(state.unlocked());
  EXPECT_EQ(read(t0 + std::chrono::minutes(29)).code(), absl::StatusCode::kFailedPrecondition);
  // A request after the limit finds the desk locked even before the timer fires.
  ASSERT_TRUE(state.Unlock("right", t0).ok());
  EXPECT_EQ(read(t0 + std::chrono::minutes(15)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(state.unlocked());
  EXPECT_EQ(opened, 2);
}

TEST_F(DeskTest, WipeMessageZeroesEveryNestedStringBeforeClearing) {
  v1::Testimony t;
  t.set_narrative(std::string(100, 'n'));
  t.add_victims()->set_name(std::string(100, 'v'));
  t.add_perpetrators(std::string(100, 'p'));
  t.add_attachments()->set_key(std::string(100, 'k'));
  // Clear() keeps the strings' buffers (protobuf reuses them), so they can be looked at
  // after the wipe: every byte must be zero.
  const char* buffers[] = {t.narrative().data(), t.victims(0).name().data(),
                           t.perpetrators(0).data(), t.attachments(0).key().data()};
  WipeMessage(t);
  EXPECT_EQ(t.ByteSizeLong(), 0u);
  for (const char* buffer : buffers) {
    EXPECT_EQ(std::string(buffer, 100), std::string(100, '\0'));
  }
}

// Refused before any vault or server is touched (u holds no vault here).
TEST_F(DeskTest, RevokeWantsTheDeviceIdRepeated) {
  Unlocked u;
  const std::string id = "0123456789abcdef0123456789abcdef";
  for (const std::string& body :
       {std::string(R"({"device":")") + id + R"("})",
        std::string(R"({"device":")") + id + R"(","confirm":"0123"})",
        std::string(R"({"confirm":")") + id + R"("})", std::string("[]"), std::string("no")}) {
    absl::StatusOr<std::string> answer = RevokeJson(u, body);
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

TEST_F(DeskTest, InviteRolesAreTheCliOnes) {
  EXPECT_EQ(*RoleFromName("monitor"), v1::ROLE_MONITOR);
  EXPECT_EQ(*RoleFromName("reviewer"), v1::ROLE_REVIEWER);
  EXPECT_EQ(*RoleFromName("admin"), v1::ROLE_ADMIN);
  EXPECT_EQ(RoleFromName("chief").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RoleFromName("").status().code(), absl::StatusCode::kInvalidArgument);
}

// A desk holding records of one device (16-byte id "a"...), numbered `seqs`, all verified.
Unlocked DeskOf(const std::vector<uint64_t>& seqs) {
  Unlocked u;
  for (uint64_t seq : seqs) {
    OpenedRecord r;
    r.record_id = std::string(15, '\0') + static_cast<char>(seq);
    r.device_id = std::string(16, 'a');
    r.project = "gao-2026";
    r.device_seq = seq;
    r.verified = true;
    r.testimony.mutable_incident()->set_region("gao");
    u.desk.records.push_back(std::move(r));
    u.searchable.push_back("gao");
  }
  return u;
}

TEST_F(DeskTest, ListComesInPagesAndCountsEveryMatch) {
  Unlocked u = DeskOf({1, 2, 3, 4, 5, 6, 7});
  nlohmann::json first = nlohmann::json::parse(ListJson(u, RecordFilter{}, {0, 3}));
  EXPECT_EQ(first["count"], 7);
  EXPECT_EQ(first["records"].size(), 3u);
  EXPECT_EQ(first["next_offset"], 3);
  nlohmann::json last = nlohmann::json::parse(ListJson(u, RecordFilter{}, {6, 3}));
  EXPECT_EQ(last["count"], 7);
  EXPECT_EQ(last["records"].size(), 1u);
  EXPECT_TRUE(last["next_offset"].is_null());
  nlohmann::json beyond = nlohmann::json::parse(ListJson(u, RecordFilter{}, {100, 3}));
  EXPECT_EQ(beyond["count"], 7);
  EXPECT_TRUE(beyond["records"].empty());
  EXPECT_TRUE(beyond["next_offset"].is_null());
}

TEST_F(DeskTest, PageParametersAreBoundedAndMalformedOnesIgnored) {
  ListPage page = PageFromParams({{"offset", "40"}, {"limit", "10"}});
  EXPECT_EQ(page.offset, 40u);
  EXPECT_EQ(page.limit, 10u);
  page = PageFromParams({{"offset", "-1"}, {"limit", "99999999"}});
  EXPECT_EQ(page.offset, 0u);
  EXPECT_EQ(page.limit, kMaxListLimit);
  page = PageFromParams({{"limit", "0"}});
  EXPECT_EQ(page.limit, 1u);
  page = PageFromParams({{"limit", "ten"}});
  EXPECT_EQ(page.limit, kDefaultListLimit);
}

// The desk's gaps are `review gaps`'s (FindGaps): 3 and 5-6 are missing of 1..7.
TEST_F(DeskTest, GapsShowTheMissingNumbersOfEachDevice) {
  Unlocked u = DeskOf({1, 2, 4, 7});
  nlohmann::json gaps = nlohmann::json::parse(GapsJson(u));
  ASSERT_EQ(gaps["devices"].size(), 1u) << gaps.dump();
  const nlohmann::json& device = gaps["devices"][0];
  std::string hex_of_a;
  for (int i = 0; i < 16; ++i) hex_of_a += "61";  // the id is 16 bytes of 'a'
  EXPECT_EQ(device["device_id"], hex_of_a) << gaps.dump();
  EXPECT_EQ(device["received"], 4);
  EXPECT_EQ(device["highest"], 7);
  EXPECT_EQ(device["missing"], nlohmann::json::parse("[[3,3],[5,6]]"));
  EXPECT_EQ(gaps["unverified_left_out"], 0);
}

TEST_F(DeskTest, PagesAreBuiltIn) {
  for (const char* path : {"/index.html", "/app.js", "/app.css"}) {
    const Asset* asset = FindAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_FALSE(asset->body.empty());
  }
  EXPECT_EQ(FindAsset("/../desk_server.cc"), nullptr);
}

}  // namespace
}  // namespace temoin::client::desk
