#include "common/tls_pin.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>

namespace temoin {

absl::StatusOr<std::string> SpkiSha256FromPem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return absl::ResourceExhaustedError("out of memory");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return absl::InvalidArgumentError("certificate does not parse");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());  // owned by cert
  if (key == nullptr) return absl::InvalidArgumentError("certificate has no public key");
  unsigned char* der = nullptr;
  int der_len = i2d_PUBKEY(key, &der);
  if (der_len <= 0) return absl::InvalidArgumentError("certificate key does not encode");
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(der, static_cast<size_t>(der_len), reinterpret_cast<unsigned char*>(digest.data()));
  OPENSSL_free(der);
  return digest;
}

}  // namespace temoin
