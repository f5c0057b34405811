// Evidence packages through the real binaries (issue 9): a monitor syncs a record with an
// attachment over TLS, the reviewer writes a disclosed package, and both `temoin verify`
// (no home, no network) and the independent Python verifier written from
// docs/evidence-format.md accept it; each part tampered in turn is refused by both, by
// the same check names. Given witness keys, both check the checkpoint's cosignatures and
// refuse a forged one, one by an unknown key, and too few, by the same check names.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "crypto/cosignature.h"
#include "crypto/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPython[] = "/usr/bin/python3";
const std::string kPythonVerifier =
    std::string(TEMOIN_SOURCE_DIR) + "/tests/evidence/verify_evidence.py";

// Both verifiers' answers on one folder.
struct Verdicts {
  CommandResult temoin, python;
  nlohmann::json temoin_json, python_json;
};

class EvidenceE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-evidence", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
  }

  Verdicts VerifyBoth(const std::string& dir, const std::vector<std::string>& extra = {}) {
    Verdicts v;
    std::vector<std::string> temoin = {ClientBinary(), "verify", dir, "--json"};
    std::vector<std::string> python = {kPython, kPythonVerifier, dir, "--json"};
    temoin.insert(temoin.end(), extra.begin(), extra.end());
    python.insert(python.end(), extra.begin(), extra.end());
    // No home, no passphrase, no server address in the environment: a court's machine.
    absl::StatusOr<CommandResult> t = RunCommand(temoin, {{"TEMOIN_HOME", ""}});
    absl::StatusOr<CommandResult> p = RunCommand(python);
    EXPECT_TRUE(t.ok() && p.ok());
    if (!t.ok() || !p.ok()) return v;
    v.temoin = *t;
    v.python = *p;
    v.temoin_json = nlohmann::json::parse(t->out, nullptr, false);
    v.python_json = nlohmann::json::parse(p->out, nullptr, false);
    EXPECT_TRUE(v.temoin_json.is_object()) << t->out << t->err;
    EXPECT_TRUE(v.python_json.is_object()) << p->out << p->err;
    return v;
  }

  // The admin certifies the keys `temoin-server keys show` prints on the server's
  // machine; keys nobody read there (a lying server's) are refused on the admin's device.
  void CertifyServerKeys() {
    absl::StatusOr<CommandResult> shown =
        RunCommand({ServerBinary(), "keys", "show", "--data", d_->server_data()});
    ASSERT_TRUE(shown.ok() && shown->exit_code == 0);
    std::string receipt_key, log_key;
    for (absl::string_view line : absl::StrSplit(shown->out, '\n', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&line, "receipt ")) receipt_key = std::string(line);
      if (absl::ConsumePrefix(&line, "log ")) log_key = std::string(line);
    }
    ASSERT_EQ(receipt_key.size(), 64u) << shown->out;
    CommandResult invented =
        d_->Temoin(d_->admin(), {"admin", "certify-server-keys", "--receipt-key",
                                 std::string(64, 'a'), "--log-key", log_key});
    EXPECT_NE(invented.exit_code, 0);
    EXPECT_THAT(invented.err, HasSubstr("not the key this device pinned at enrolment"));
    CommandResult certified = d_->Temoin(
        d_->admin(),
        {"admin", "certify-server-keys", "--receipt-key", receipt_key, "--log-key", log_key});
    ASSERT_EQ(certified.exit_code, 0) << certified.err;
    EXPECT_THAT(certified.out, HasSubstr("receipt " + receipt_key + " 0 -\n"));
    EXPECT_THAT(certified.err, HasSubstr("fingerprint"));
  }
  // Cosigns `package`'s checkpoint with witness keys made here and checks that both
  // verifiers judge the cosignatures alike (docs/evidence-format.md 4.15, 4.16).
  void CheckWitnessCosignatures(const std::string& package, const std::string& org_key);

  std::unique_ptr<Deployment> d_;
};

std::string ReadText(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

// Rewrites a file and its manifest entry, as a forger who knows the format would.
void Replace(const std::string& dir, const std::string& name, const std::string& bytes) {
  ASSERT_TRUE(WriteFile(dir + "/" + name, bytes).ok());
  nlohmann::json manifest = nlohmann::json::parse(ReadText(dir + "/manifest.json"));
  std::string hex;
  absl::StatusOr<CommandResult> sum = RunCommand({"/usr/bin/sha256sum", dir + "/" + name});
  ASSERT_TRUE(sum.ok() && sum->exit_code == 0);
  hex = sum->out.substr(0, 64);
  for (auto& entry : manifest["files"]) {
    if (entry["name"] == name) entry["sha256"] = hex;
  }
  ASSERT_TRUE(WriteFile(dir + "/manifest.json", manifest.dump(2)).ok());
}

void FlipByte(const std::string& dir, const std::string& name, size_t from_end) {
  std::string bytes = ReadText(dir + "/" + name);
  ASSERT_GT(bytes.size(), from_end);
  bytes[bytes.size() - from_end] ^= 0x01;
  Replace(dir, name, bytes);
}

// Takes a file out of the package and out of its manifest, as a forger would.
void Remove(const std::string& dir, const std::string& name) {
  std::filesystem::remove(dir + "/" + name);
  nlohmann::json manifest = nlohmann::json::parse(ReadText(dir + "/manifest.json"));
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& entry : manifest["files"]) {
    if (entry["name"] != name) kept.push_back(entry);
  }
  manifest["files"] = kept;
  ASSERT_TRUE(WriteFile(dir + "/manifest.json", manifest.dump(2)).ok());
}

TEST_F(EvidenceE2eTest, BothVerifiersAcceptAPackageAndRefuseEachTamperedPart) {
  const std::string& monitor = d_->monitors()[0];
  CertifyServerKeys();
  TestimonyGenerator generator(/*seed=*/909);
  // A record with a two-chunk attachment, synced over TLS.
  const std::string testimony = d_->dir().Sub("testimony.json");
  const std::string photo = d_->dir().Sub("photo.jpg");
  ASSERT_TRUE(WriteFile(testimony, TestimonyToJson(generator.Next())).ok());
  ASSERT_TRUE(WriteFile(photo, std::string(100'000, '\x5a')).ok());
  absl::StatusOr<std::string> id = d_->Run(
      monitor, {"record", "--project", kDeploymentProject, "--from", testimony, "--attach", photo});
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string record_id = Trim(*id);
  CommandResult sync = d_->Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  absl::StatusOr<std::string> older = d_->Run(monitor, {"checkpoint"});  // a tree of 1
  ASSERT_TRUE(older.ok()) << older.status();
  // A later record makes the log grow past that checkpoint.
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  sync = d_->Temoin(monitor, {"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;

  const std::string package = d_->dir().Sub("package");
  CommandResult written =
      d_->Temoin(d_->reviewer(), {"review", "evidence", record_id, "--out", package, "--disclose"});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_THAT(written.err, HasSubstr("VERIFIED: every check passed"));
  // The court gets the organisation key from the organisation, not from the folder.
  absl::StatusOr<std::string> admin_status = d_->Run(d_->admin(), {"status", "--json"});
  ASSERT_TRUE(admin_status.ok()) << admin_status.status();
  const std::string org_key =
      nlohmann::json::parse(*admin_status, nullptr, false).value("org_public_key", "");
  EXPECT_EQ(org_key, Trim(ReadText(package + "/org-public-key.hex")));
  absl::StatusOr<CommandResult> vkey =
      RunCommand({ServerBinary(), "log", "vkey", "--data", d_->server_data()});
  ASSERT_TRUE(vkey.ok() && vkey->exit_code == 0);

  // Both accept it, against the organisation key and the log key published apart.
  Verdicts good = VerifyBoth(package, {"--org-key", org_key, "--log-key", Trim(vkey->out)});
  EXPECT_EQ(good.temoin.exit_code, 0) << good.temoin.out << good.temoin.err;
  EXPECT_EQ(good.python.exit_code, 0) << good.python.out << good.python.err;
  EXPECT_EQ(good.temoin_json["verified"], true);
  EXPECT_EQ(good.python_json["verified"], true);
  EXPECT_EQ(good.temoin_json["checks"].size(), good.python_json["checks"].size());
  CommandResult text = d_->Temoin(d_->reviewer(), {"verify", package});
  EXPECT_THAT(text.out, HasSubstr("PASS inclusion-proof: leaf 0 is in the checkpoint's tree of 2"));
  EXPECT_THAT(text.out, HasSubstr("\"photo.jpg\""));
  EXPECT_THAT(text.out, HasSubstr("byte for byte what was sealed"));
  // With no --log-key, the organisation's statement says which log key is the server's.
  EXPECT_THAT(text.out, HasSubstr("PASS log-key-certified: log key " + Trim(vkey->out) +
                                  " is certified by the organisation"));
  EXPECT_THAT(text.out, HasSubstr("PASS receipt-key-certified"));

  // Without --disclose nothing in the folder can be read, and it still verifies.
  const std::string sealed = d_->dir().Sub("sealed");
  written = d_->Temoin(d_->reviewer(), {"review", "evidence", record_id, "--out", sealed});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_FALSE(std::filesystem::exists(sealed + "/data-key.hex"));
  EXPECT_FALSE(std::filesystem::exists(sealed + "/testimony.json"));
  Verdicts closed = VerifyBoth(sealed, {"--org-key", org_key});
  EXPECT_EQ(closed.temoin.exit_code, 0) << closed.temoin.out;
  EXPECT_EQ(closed.python.exit_code, 0) << closed.python.out;

  // The reviewer's desk holds both records of the one monitor: no number is missing.
  absl::StatusOr<std::string> gaps =
      d_->Run(d_->reviewer(), {"review", "--offline", "gaps", "--json"});
  ASSERT_TRUE(gaps.ok()) << gaps.status();
  nlohmann::json devices = nlohmann::json::parse(*gaps, nullptr, false);
  ASSERT_TRUE(devices.is_array() && devices.size() == 1) << *gaps;
  EXPECT_EQ(devices[0]["received"], 2) << *gaps;
  EXPECT_EQ(devices[0]["highest"], 2) << *gaps;
  EXPECT_TRUE(devices[0]["missing"].empty()) << *gaps;

  std::string blob;
  for (const auto& entry : std::filesystem::directory_iterator(package + "/attachments")) {
    std::string name = entry.path().filename().string();
    if (name.size() == 36 && name.substr(32) == ".enc") blob = name.substr(0, 32);
  }
  ASSERT_FALSE(blob.empty());
  struct Case {
    const char* what;
    std::function<void(const std::string&)> tamper;
    std::string refused;
  };
  const std::vector<Case> cases = {
      {"a ciphertext byte of the envelope",
       [](const std::string& dir) { FlipByte(dir, "envelope.pb", 300); }, "record-signature"},
      {"a byte of the disclosed testimony",
       [](const std::string& dir) {
         std::string json = ReadText(dir + "/testimony.json");
         size_t at = json.find("\"narrative\": \"") + 15;
         json[at] = json[at] == 'Q' ? 'R' : 'Q';
         Replace(dir, "testimony.json", json);
       },
       "testimony"},
      {"a byte of the attachment",
       [&](const std::string& dir) { FlipByte(dir, "attachments/" + blob + ".enc", 1000); },
       "attachment " + blob},
      {"the inclusion proof",
       [](const std::string& dir) { FlipByte(dir, "inclusion-proof.hex", 3); }, "inclusion-proof"},
      {"the checkpoint's signature",
       [](const std::string& dir) { FlipByte(dir, "checkpoint.note", 8); }, "checkpoint-signature"},
      {"the enrolment certificate",
       [](const std::string& dir) { FlipByte(dir, "device-certificate.pb", 5); },
       "device-certificate"},
      {"a byte of the organisation's server-key statement",
       [](const std::string& dir) {
         std::string text = ReadText(dir + "/server-keys.txt");
         size_t at = text.find("\nlog ") - 3;  // a digit of the receipt key's validity
         text[at] = text[at] == '1' ? '2' : '1';
         Replace(dir, "server-keys.txt", text);
       },
       "server-keys"},
      {"the server-key statement's signature",
       [](const std::string& dir) { FlipByte(dir, "server-keys-signature.hex", 4); },
       "server-keys"},
      {"no server-key statement at all",
       [](const std::string& dir) {
         Remove(dir, "server-keys.txt");
         Remove(dir, "server-keys-signature.hex");
       },
       "receipt-key-certified"},
      {"an older checkpoint in place of the newer one",
       [&](const std::string& dir) { Replace(dir, "checkpoint.note", *older); }, "inclusion-proof"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string dir = d_->dir().Sub(absl::StrCat("tampered-", &c - cases.data()));
    std::filesystem::copy(package, dir, std::filesystem::copy_options::recursive);
    c.tamper(dir);
    Verdicts v = VerifyBoth(dir, {"--org-key", org_key});
    EXPECT_NE(v.temoin.exit_code, 0) << v.temoin.out;
    EXPECT_NE(v.python.exit_code, 0) << v.python.out;
    const auto temoin_failed = v.temoin_json.value("failed", std::vector<std::string>{});
    const auto python_failed = v.python_json.value("failed", std::vector<std::string>{});
    EXPECT_THAT(temoin_failed, Contains(c.refused)) << v.temoin.out;
    EXPECT_THAT(python_failed, Contains(c.refused)) << v.python.out;
    EXPECT_EQ(temoin_failed, python_failed)
        << "temoin: " << v.temoin.out << "\npython: " << v.python.out;
  }

  CheckWitnessCosignatures(package, org_key);
}

// A witness's cosignature line over `note`'s checkpoint text, made as temoin-witness
// makes it (crypto::Cosign); `key` may be another than the one `name` is published with.
std::string CosignatureLine(const std::string& note, const std::string& name,
                            const crypto::SigningKey& key, uint64_t timestamp) {
  absl::StatusOr<crypto::NoteParts> parts = crypto::SplitNote(note);
  EXPECT_TRUE(parts.ok()) << parts.status();
  if (!parts.ok()) return "";
  absl::StatusOr<std::string> line = crypto::Cosign(parts->text, name, key, timestamp);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? *line : "";
}

// The same line with one byte of its Ed25519 signature changed (the key id and time
// kept, so that it is still that witness's line).
std::string ForgedLine(const std::string& line) {
  const size_t space = line.rfind(' ');
  std::string blob;
  EXPECT_TRUE(absl::Base64Unescape(Trim(line.substr(space + 1)), &blob));
  blob[blob.size() - 1] ^= 0x01;
  return absl::StrCat(line.substr(0, space + 1), absl::Base64Escape(blob), "\n");
}

void EvidenceE2eTest::CheckWitnessCosignatures(const std::string& package,
                                               const std::string& org_key) {
  const crypto::SigningKey w1 = crypto::SigningKey::Generate();
  const crypto::SigningKey w2 = crypto::SigningKey::Generate();
  const crypto::SigningKey stranger = crypto::SigningKey::Generate();
  const std::string n1 = "witness.test/w1", n2 = "witness.test/w2", n3 = "witness.test/w3";
  const std::string v1 = crypto::FormatCosignerVkey(n1, w1.public_key());
  const std::string v2 = crypto::FormatCosignerVkey(n2, w2.public_key());
  const std::string v3 = crypto::FormatCosignerVkey(n3, stranger.public_key());
  const std::string note = ReadText(package + "/checkpoint.note");
  constexpr uint64_t kWhen = 1764806400;  // 2025-12-04T00:00:00Z
  const std::string line1 = CosignatureLine(note, n1, w1, kWhen);
  const std::string line2 = CosignatureLine(note, n2, w2, kWhen + 60);
  auto cosigned = [&](const std::string& name, const std::string& lines) {
    const std::string dir = d_->dir().Sub(name);
    std::filesystem::copy(package, dir, std::filesystem::copy_options::recursive);
    Replace(dir, "checkpoint.note", note + lines);
    return dir;
  };
  const std::vector<std::string> both = {"--org-key", org_key, "--witness", v1, "--witness", v2};

  // Cosigned by both witnesses: both verifiers accept it and name each witness and time.
  const std::string good_dir = cosigned("cosigned", line1 + line2);
  Verdicts good = VerifyBoth(good_dir, both);
  EXPECT_EQ(good.temoin.exit_code, 0) << good.temoin.out << good.temoin.err;
  EXPECT_EQ(good.python.exit_code, 0) << good.python.out << good.python.err;
  std::vector<std::string> temoin_names, python_names;
  for (const auto& check : good.temoin_json["checks"]) temoin_names.push_back(check["name"]);
  for (const auto& check : good.python_json["checks"]) python_names.push_back(check["name"]);
  EXPECT_EQ(temoin_names, python_names);
  EXPECT_THAT(temoin_names, Contains("cosignature " + n1));
  EXPECT_THAT(temoin_names, Contains("witness-quorum"));
  absl::StatusOr<CommandResult> text =
      RunCommand({ClientBinary(), "verify", good_dir, "--witness", v1, "--witness", v2});
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(text->out, HasSubstr("cosigned by witness.test/w1 at 2025-12-04T00:00:00Z"));
  EXPECT_THAT(text->out, HasSubstr("cosigned by witness.test/w2 at 2025-12-04T00:01:00Z"));
  // One of two required: a third witness that did not cosign is named, and tolerated.
  Verdicts one = VerifyBoth(good_dir, {"--witness", v1, "--witness", v3, "--min-witnesses", "1"});
  EXPECT_EQ(one.temoin.exit_code, 0) << one.temoin.out;
  EXPECT_EQ(one.python.exit_code, 0) << one.python.out;

  struct Case {
    const char* what;
    std::string lines;
    std::vector<std::string> refused;
  };
  const std::vector<Case> cases = {
      {"a byte of w1's cosignature changed",
       ForgedLine(line1) + line2,
       {"cosignature " + n1, "witness-quorum"}},
      {"w1's name on a cosignature by an unknown key",
       CosignatureLine(note, n1, stranger, kWhen) + line2,
       {"witness-quorum"}},
      {"too few cosignatures (w2 only)", line2, {"witness-quorum"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Verdicts v = VerifyBoth(cosigned(absl::StrCat("cosigned-", &c - cases.data()), c.lines), both);
    EXPECT_NE(v.temoin.exit_code, 0) << v.temoin.out;
    EXPECT_NE(v.python.exit_code, 0) << v.python.out;
    EXPECT_EQ(v.temoin_json.value("failed", std::vector<std::string>{}), c.refused) << v.temoin.out;
    EXPECT_EQ(v.python_json.value("failed", std::vector<std::string>{}), c.refused) << v.python.out;
  }

  // A key that is not a witness's is the caller's mistake: both stop before any check.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--witness", "not-a-vkey"},
        std::vector<std::string>{"--witness", v1, "--min-witnesses", "2"}}) {
    std::vector<std::string> temoin = {ClientBinary(), "verify", good_dir};
    std::vector<std::string> python = {kPython, kPythonVerifier, good_dir};
    temoin.insert(temoin.end(), bad.begin(), bad.end());
    python.insert(python.end(), bad.begin(), bad.end());
    absl::StatusOr<CommandResult> t = RunCommand(temoin);
    absl::StatusOr<CommandResult> p = RunCommand(python);
    ASSERT_TRUE(t.ok() && p.ok());
    EXPECT_NE(t->exit_code, 0) << t->out;
    EXPECT_NE(p->exit_code, 0) << p->out;
    EXPECT_THAT(t->out, Not(HasSubstr("PASS "))) << "the checks ran";
    EXPECT_THAT(p->out, Not(HasSubstr("PASS "))) << "the checks ran";
  }
}

}  // namespace
}  // namespace temoin::e2e
