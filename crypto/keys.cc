#include "crypto/keys.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/bytes.h"

namespace temoin::crypto {
namespace internal {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace internal

namespace {

using internal::Bytes;
using internal::MutableBytes;

static_assert(kSigningPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSigningSecretKeyBytes == crypto_sign_SECRETKEYBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);
static_assert(kBoxPublicKeyBytes == crypto_box_PUBLICKEYBYTES);
static_assert(kBoxSecretKeyBytes == crypto_box_SECRETKEYBYTES);
static_assert(Aead::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr absl::string_view kKeyIdContext = "temoin/key-id/v1";
constexpr uint64_t kMinPassphraseOps = 3;
constexpr uint64_t kMinPassphraseMemory = 64ull * 1024 * 1024;

// The bytes a SigningKey signs: context || 0x00 || message. The zero byte ends the
// context, so no (context, message) pair can collide with another.
std::string SignedBytes(absl::string_view context, absl::string_view message) {
  return absl::StrCat(context, absl::string_view("\0", 1), message);
}

}  // namespace

SigningKey SigningKey::Generate() {
  std::string public_key(crypto_sign_PUBLICKEYBYTES, '\0');
  SecretBuffer secret_key = SecretBuffer::Allocate(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(MutableBytes(public_key), secret_key.data());
  return SigningKey(std::move(public_key), std::move(secret_key));
}

absl::StatusOr<SigningKey> SigningKey::FromSecretKey(absl::string_view secret_key) {
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return absl::InvalidArgumentError("signing secret key has wrong length");
  }
  // An Ed25519 secret key is seed || public key. Recompute the public half from the
  // seed rather than trusting the stored copy: a mismatched pair would sign with one
  // key while advertising another.
  SecretBuffer seed = SecretBuffer::Allocate(crypto_sign_SEEDBYTES);
  crypto_sign_ed25519_sk_to_seed(seed.data(), Bytes(secret_key));
  std::string public_key(crypto_sign_PUBLICKEYBYTES, '\0');
  SecretBuffer recomputed = SecretBuffer::Allocate(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(MutableBytes(public_key), recomputed.data(), seed.data());
  if (!internal::ConstantTimeEquals(public_key, secret_key.substr(crypto_sign_SEEDBYTES))) {
    return absl::InvalidArgumentError("signing secret key does not match its public key");
  }
  return SigningKey(std::move(public_key), std::move(recomputed));
}

std::string SigningKey::Sign(absl::string_view context, absl::string_view message) const {
  TEMOIN_CHECK(absl::StartsWith(context, "temoin/"));
  std::string signed_bytes = SignedBytes(context, message);
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(MutableBytes(signature), nullptr, Bytes(signed_bytes), signed_bytes.size(),
                       secret_key_.data());
  return signature;
}

absl::Status VerifySignature(absl::string_view public_key, absl::string_view context,
                             absl::string_view message, absl::string_view signature) {
  const absl::Status failed = absl::UnauthenticatedError("signature verification failed");
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return failed;
  }
  std::string signed_bytes = SignedBytes(context, message);
  if (crypto_sign_verify_detached(Bytes(signature), Bytes(signed_bytes), signed_bytes.size(),
                                  Bytes(public_key)) != 0) {
    return failed;
  }
  return absl::OkStatus();
}

BoxKeyPair BoxKeyPair::Generate() {
  std::string public_key(crypto_box_PUBLICKEYBYTES, '\0');
  SecretBuffer secret_key = SecretBuffer::Allocate(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(MutableBytes(public_key), secret_key.data());
  return BoxKeyPair(std::move(public_key), std::move(secret_key));
}

absl::StatusOr<BoxKeyPair> BoxKeyPair::FromSecretKey(absl::string_view secret_key) {
  if (secret_key.size() != crypto_box_SECRETKEYBYTES) {
    return absl::InvalidArgumentError("box secret key has wrong length");
  }
  SecretBuffer secret = SecretBuffer::CopyOf(secret_key);
  std::string public_key(crypto_box_PUBLICKEYBYTES, '\0');
  if (crypto_scalarmult_base(MutableBytes(public_key), secret.data()) != 0) {
    return absl::InvalidArgumentError("box secret key is invalid");
  }
  return BoxKeyPair(std::move(public_key), std::move(secret));
}

std::string KeyId(absl::string_view public_key) {
  std::string id(kKeyIdBytes, '\0');
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, id.size());
  crypto_generichash_update(&state, Bytes(kKeyIdContext), kKeyIdContext.size());
  crypto_generichash_update(&state, Bytes(public_key), public_key.size());
  crypto_generichash_final(&state, MutableBytes(id), id.size());
  return id;
}

absl::StatusOr<std::string> SealToPublicKey(absl::string_view plaintext,
                                            absl::string_view recipient_public_key) {
  if (recipient_public_key.size() != crypto_box_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("recipient public key has wrong length");
  }
  std::string sealed(plaintext.size() + crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal(MutableBytes(sealed), Bytes(plaintext), plaintext.size(),
                      Bytes(recipient_public_key)) != 0) {
    return absl::InvalidArgumentError("recipient public key is invalid");
  }
  return sealed;
}

absl::StatusOr<SecretBuffer> OpenSealed(absl::string_view sealed, const BoxKeyPair& recipient) {
  const absl::Status failed = absl::UnauthenticatedError("authentication failed");
  if (sealed.size() < crypto_box_SEALBYTES) return failed;
  const size_t plaintext_size = sealed.size() - crypto_box_SEALBYTES;
  SecretBuffer plaintext = SecretBuffer::Allocate(plaintext_size);
  // An empty plaintext has no buffer to write to; a one-byte scratch stands in for it.
  unsigned char scratch = 0;
  if (crypto_box_seal_open(plaintext.empty() ? &scratch : plaintext.data(), Bytes(sealed),
                           sealed.size(), Bytes(recipient.public_key()),
                           recipient.secret_key().data()) != 0) {
    return failed;
  }
  return plaintext;
}

absl::StatusOr<Aead> Aead::Create(SecretBuffer key) {
  if (key.size() != kKeyBytes) return absl::InvalidArgumentError("aead key has wrong length");
  return Aead(std::move(key));
}

std::string Aead::Seal(absl::string_view plaintext, absl::string_view associated_data) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string out(kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  randombytes_buf(out.data(), kNonce);  // 192-bit random nonces never repeat in practice
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      MutableBytes(out) + kNonce, &written, Bytes(plaintext), plaintext.size(),
      Bytes(associated_data), associated_data.size(), nullptr, MutableBytes(out), key_.data());
  return out;
}

absl::StatusOr<std::string> Aead::Open(absl::string_view ciphertext,
                                       absl::string_view associated_data) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  const absl::Status failed = absl::UnauthenticatedError("authentication failed");
  if (ciphertext.size() < kNonce + kTag) return failed;
  std::string plaintext(ciphertext.size() - kNonce - kTag, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          MutableBytes(plaintext), &written, nullptr, Bytes(ciphertext) + kNonce,
          ciphertext.size() - kNonce, Bytes(associated_data), associated_data.size(),
          Bytes(ciphertext), key_.data()) != 0) {
    WipeString(plaintext);
    return failed;
  }
  return plaintext;
}

SecretBuffer DeriveSubkey(const SecretBuffer& master, absl::string_view context, uint64_t id) {
  TEMOIN_CHECK(context.size() == crypto_kdf_CONTEXTBYTES);
  TEMOIN_CHECK(master.size() == crypto_kdf_KEYBYTES);
  // crypto_kdf reads exactly 8 context bytes; copy so a non-terminated view is safe.
  char ctx[crypto_kdf_CONTEXTBYTES];
  std::memcpy(ctx, context.data(), sizeof ctx);
  SecretBuffer subkey = SecretBuffer::Allocate(32);
  crypto_kdf_derive_from_key(subkey.data(), subkey.size(), id, ctx, master.data());
  return subkey;
}

absl::StatusOr<SecretBuffer> DeriveKeyFromPassphrase(absl::string_view passphrase,
                                                     const PassphraseParams& params) {
  if (params.salt.size() != crypto_pwhash_SALTBYTES) {
    return absl::InvalidArgumentError("passphrase salt has wrong length");
  }
  // The floor (security-reliability.md §1.1): weaker parameters read from a key-file
  // header would let whoever wrote the header cheapen offline guessing.
  if (params.opslimit < kMinPassphraseOps || params.memlimit < kMinPassphraseMemory) {
    return absl::InvalidArgumentError("passphrase parameters below the minimum");
  }
  if (params.opslimit > crypto_pwhash_OPSLIMIT_MAX ||
      params.memlimit > crypto_pwhash_MEMLIMIT_MAX ||
      passphrase.size() > crypto_pwhash_PASSWD_MAX) {
    return absl::InvalidArgumentError("passphrase parameters above the maximum");
  }
  SecretBuffer key = SecretBuffer::Allocate(32);
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(),
                    Bytes(params.salt), params.opslimit, static_cast<size_t>(params.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // With the parameters checked above, the only failure left is memory.
    return absl::ResourceExhaustedError("not enough memory for the passphrase hash");
  }
  return key;
}

std::string Mac(const SecretBuffer& key, absl::string_view message) {
  TEMOIN_CHECK(key.size() == crypto_auth_KEYBYTES);
  std::string mac(crypto_auth_BYTES, '\0');
  crypto_auth(MutableBytes(mac), Bytes(message), message.size(), key.data());
  return mac;
}

bool VerifyMac(const SecretBuffer& key, absl::string_view message, absl::string_view mac) {
  TEMOIN_CHECK(key.size() == crypto_auth_KEYBYTES);
  if (mac.size() != crypto_auth_BYTES) return false;
  return crypto_auth_verify(Bytes(mac), Bytes(message), message.size(), key.data()) == 0;
}

std::string Hash256(absl::string_view context, absl::string_view data) {
  std::string digest(32, '\0');
  const unsigned char separator = 0;
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, digest.size());
  crypto_generichash_update(&state, Bytes(context), context.size());
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, Bytes(data), data.size());
  crypto_generichash_final(&state, MutableBytes(digest), digest.size());
  return digest;
}

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (size > 0) randombytes_buf(out.data(), size);
  return out;
}

}  // namespace temoin::crypto
