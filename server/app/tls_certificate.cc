#include "server/app/tls_certificate.h"

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace temoin::server {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

absl::StatusOr<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0) return absl::InternalError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

absl::StatusOr<TlsIdentity> GenerateSelfSignedIdentity() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError("TLS key generation failed");
  X509Ptr cert(X509_new());
  if (!cert) return absl::InternalError("certificate allocation failed");
  // X.509 v1: no extensions (SAN, CA, key usage). Nothing checks them, since the pin
  // is the whole of trust, and every byte of the certificate crosses the wire at
  // each connection (the no-op sync's budget).
  X509_set_version(cert.get(), 0);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 20L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("temoin-server"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return absl::InternalError("certificate signing failed");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_secmem()));  // wiped when freed
  if (!PEM_write_bio_X509(cert_bio.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    return absl::InternalError("PEM encoding failed");
  }
  TlsIdentity identity;
  auto cert_pem = BioToString(cert_bio.get());
  auto key_pem = BioToString(key_bio.get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  identity.certificate_pem = std::move(*cert_pem);
  identity.private_key_pem = std::move(*key_pem);
  return identity;
}

absl::Status DisableTlsSessionTickets() {
  // Load the system configuration first (once per process), so that it cannot later
  // replace this one; this one then replaces its ssl_conf part.
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) {
    return absl::InternalError("OpenSSL initialisation failed");
  }
  static constexpr char kConfig[] =
      "openssl_conf = temoin_init\n"
      "[temoin_init]\n"
      "ssl_conf = temoin_ssl\n"
      "[temoin_ssl]\n"
      "system_default = temoin_tls\n"
      "[temoin_tls]\n"
      "MinProtocol = TLSv1.2\n"
      "NumTickets = 0\n";
  using ConfPtr = std::unique_ptr<CONF, Deleter<CONF, NCONF_free>>;
  ConfPtr conf(NCONF_new(nullptr));
  BioPtr bio(BIO_new_mem_buf(kConfig, -1));
  long error_line = 0;
  if (!conf || !bio || NCONF_load_bio(conf.get(), bio.get(), &error_line) != 1 ||
      CONF_modules_load(conf.get(), nullptr, 0) != 1) {
    return absl::InternalError("could not configure TLS session tickets off");
  }
  return absl::OkStatus();
}

}  // namespace temoin::server
