// The device's trust in the server is the SPKI pin it got at enrolment, and nothing
// else: through the real binaries,
//  - a server whose certificate chains to a CA the system trusts, but whose key is not
//    the pinned one, is refused with a clear message and is sent nothing;
//  - the real server presenting an expired certificate for the pinned key is accepted.
//    That is deliberate: the pin is on the key, and the client checks neither CA nor
//    validity dates (connection.cc sets verify_server_certs(false) and verifies the pin
//    itself). A field device's clock can be months off (no network time, a dead clock
//    battery), and the server's self-signed certificate is never renewed by anyone; a
//    date check would lock monitors out for no security gain, since whoever holds the
//    pinned private key is the server whatever the dates say. A stolen server key is
//    answered by a new key and re-enrolment, not by expiry.
//  - `invite --qr-png` writes the code as a PNG readable by its owner only.
// Certificates come from the `openssl` command (skipped when absent) and, for the
// expired one, the OpenSSL API (OpenSSL 3.0's CLI refuses dates in the past).

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kOpenssl[] = "/usr/bin/openssl";

absl::Status Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kOpenssl};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> r = RunCommand(argv, {}, std::chrono::seconds(20));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::InternalError("openssl " + args[0] + ": " + r->err);
  return absl::OkStatus();
}

// A CA, and a P-256 server certificate for "temoin-server" and 127.0.0.1 signed by it.
absl::Status MakeCaSignedServer(const TempDir& dir) {
  const std::string ext = dir.Sub("leaf.ext");
  absl::Status s = WriteFile(ext,
                             "subjectAltName=DNS:temoin-server,IP:127.0.0.1\n"
                             "basicConstraints=critical,CA:FALSE\n"
                             "keyUsage=critical,digitalSignature\n"
                             "extendedKeyUsage=serverAuth\n");
  if (s.ok()) {
    s = Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", dir.Sub("ca.key"), "-out", dir.Sub("ca.pem"), "-days", "30", "-subj",
                 "/CN=Synthetic Trusted Root CA"});
  }
  if (s.ok()) {
    s = Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", dir.Sub("leaf.key"), "-out", dir.Sub("leaf.csr"), "-subj",
                 "/CN=temoin-server"});
  }
  if (s.ok()) {
    s = Openssl({"x509", "-req", "-in", dir.Sub("leaf.csr"), "-CA", dir.Sub("ca.pem"), "-CAkey",
                 dir.Sub("ca.key"), "-CAcreateserial", "-out", dir.Sub("leaf.pem"), "-days", "30",
                 "-extfile", ext});
  }
  return s;
}

// A self-signed certificate for the key in `key_path` that expired yesterday.
absl::Status WriteExpiredCertificate(const std::string& key_path, const std::string& out) {
  std::unique_ptr<FILE, decltype(&fclose)> in(fopen(key_path.c_str(), "r"), &fclose);
  if (!in) return absl::InternalError("open key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(in.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) return absl::InternalError("read key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -30L * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), -24L * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("temoin-server"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return absl::InternalError("sign");
  std::unique_ptr<FILE, decltype(&fclose)> file(fopen(out.c_str(), "w"), &fclose);
  if (!file || PEM_write_X509(file.get(), cert.get()) != 1) return absl::InternalError("write");
  return absl::OkStatus();
}

class TlsPinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kOpenssl, X_OK) != 0) GTEST_SKIP() << "no openssl command";
    absl::StatusOr<std::unique_ptr<Deployment>> made =
        Deployment::Create("temoin-e2e-tls-pin", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
  }
  std::unique_ptr<Deployment> d_;
};

TEST_F(TlsPinTest, RefusesCaSignedServerWithAnotherKeyAndSendsItNothing) {
  const TempDir& dir = d_->dir();
  ASSERT_TRUE(MakeCaSignedServer(dir).ok());
  // A trust store holding the CA, for this test's processes only: a client that
  // trusted CAs (OpenSSL's SSL_CERT_FILE, gRPC's roots file) would accept the server.
  ASSERT_EQ(setenv("SSL_CERT_FILE", dir.Sub("ca.pem").c_str(), 1), 0);
  ASSERT_EQ(setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", dir.Sub("ca.pem").c_str(), 1), 0);

  absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  const std::string impostor = dir.Sub("impostor-server");
  absl::StatusOr<CommandResult> init =
      RunCommand({ServerBinary(), "init", "--data", impostor, "--org", "Impostor", "--listen",
                  absl::StrCat("127.0.0.1:", *port)});
  ASSERT_TRUE(init.ok() && init->exit_code == 0) << (init.ok() ? init->err : "");
  absl::StatusOr<std::string> leaf = ReadFile(dir.Sub("leaf.pem"));
  absl::StatusOr<std::string> leaf_key = ReadFile(dir.Sub("leaf.key"));
  ASSERT_TRUE(leaf.ok() && leaf_key.ok());
  ASSERT_TRUE(WriteFile(impostor + "/tls/cert.pem", *leaf).ok());
  ASSERT_TRUE(WriteFile(impostor + "/tls/key.pem", *leaf_key).ok());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(ServerBinary(), impostor, *port, dir.Sub("impostor.log"));
  ASSERT_TRUE(server.ok()) << server.status();

  // The impostor's certificate really does verify against the trusted CA.
  absl::StatusOr<CommandResult> ca_check = RunCommand(
      {kOpenssl, "s_client", "-connect", absl::StrCat("127.0.0.1:", *port), "-servername",
       "temoin-server", "-CAfile", dir.Sub("ca.pem"), "-verify_return_error", "-brief"},
      {}, std::chrono::seconds(20));
  ASSERT_TRUE(ca_check.ok());
  EXPECT_THAT(ca_check->err, HasSubstr("Verification: OK")) << ca_check->err;

  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/977);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult sync = d_->Temoin(monitor, {"sync", "--server", absl::StrCat("127.0.0.1:", *port)});
  EXPECT_NE(sync.exit_code, 0);
  // The refusal names the key presented and says what to do (tls_rotation_test covers
  // the rotation side of the same message).
  EXPECT_THAT(sync.err, HasSubstr("the server at 127.0.0.1:")) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("presents TLS key ")) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("someone may be intercepting")) << sync.err;

  absl::StatusOr<nlohmann::json> counts = d_->RecordCounts(monitor);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["sealed"], 1) << counts->dump();
  server->reset();  // stop it, so its store is read at rest
  absl::StatusOr<Deployment::ServerListing> listing = Deployment::ListServerRecordsIn(impostor);
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_TRUE(listing->record_ids.empty());
  EXPECT_EQ(listing->log_entries, 0u);
  // Only the init lines and the start banner: no call ever reached a handler.
  absl::StatusOr<std::string> log = ReadFile(dir.Sub("impostor.log"));
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, ::testing::Not(HasSubstr("enrol")));

  // The real server still takes the record.
  CommandResult real = d_->Temoin(monitor, {"sync"});
  EXPECT_EQ(real.exit_code, 0) << real.err;
  unsetenv("SSL_CERT_FILE");
  unsetenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
}

TEST_F(TlsPinTest, AcceptsExpiredCertificateForThePinnedKey) {
  d_->StopServer();
  const std::string tls = d_->server_data() + "/tls";
  ASSERT_TRUE(WriteExpiredCertificate(tls + "/key.pem", tls + "/cert.pem").ok());
  ASSERT_TRUE(d_->StartServer().ok());
  const std::string& monitor = d_->monitors()[0];
  TestimonyGenerator generator(/*seed=*/978);
  ASSERT_TRUE(d_->Record(monitor, {generator.Next()}).ok());
  CommandResult sync = d_->Temoin(monitor, {"sync"});
  EXPECT_EQ(sync.exit_code, 0) << sync.err;
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->record_ids.size(), 1u);
}

TEST_F(TlsPinTest, InviteWritesQrPngReadableByItsOwnerOnly) {
  const std::string png = d_->dir().Sub("invite.png");
  CommandResult invite = d_->Temoin(d_->admin(), {"invite", "--project", kDeploymentProject,
                                                  "--role", "monitor", "--qr-png", png});
  ASSERT_EQ(invite.exit_code, 0) << invite.err;
  absl::StatusOr<std::string> bytes = ReadFile(png);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  struct stat st {};
  ASSERT_EQ(stat(png.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

}  // namespace
}  // namespace temoin::e2e
