#include "crypto/body_codec.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_customMem; exported by Debian 12's libzstd 1.5.4
#include <sodium.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/secret_buffer.h"

namespace temoin::crypto::internal {

// crypto/body_dictionary_data.cc.in (generated from data/body-dictionary-v1.zdict).
extern const unsigned char kBodyDictionaryV1[];
extern const size_t kBodyDictionaryV1Size;

namespace {

// zstd level for every body (with or without a dictionary). Output only: decompression
// does not depend on it, so bodies sealed at any level keep opening. Measured on
// sync_bench's corpus (1,000 testimonies, 1,313 B serialized on average, seed 20261127,
// dictionary 1, libzstd 1.5.4, a fresh wiping context per body as here; fastest of
// several runs on one core of the shared 2-core 2.6 GHz dev VM, +-20%):
//   level          3     4     5     6     7     9    12    13    15    19
//   zstd B/body  729   702   672   586   585   585   583   579   577   569
//   us/body       17    19    31    36    41    49   ~70  ~100  ~120  ~170
// On the same core an Ed25519 signature takes ~16 us and a whole SealRecord ~130 us
// (crypto_box_seal is half of it). Level 6, the first with the lazy matcher, is the
// step: -144 B per record (after Padme) for +19 us per seal. Beyond it, -17 B more
// costs +130 us or more.
constexpr int kBodyCompressionLevel = 6;

// zstd frees without a size, so each block carries its size in a prefix that keeps
// malloc's alignment.
constexpr size_t kPrefix = alignof(std::max_align_t);

void* WipingAlloc(void* /*opaque*/, size_t size) {
  auto* block = static_cast<unsigned char*>(std::malloc(size + kPrefix));
  if (block == nullptr) return nullptr;
  std::memcpy(block, &size, sizeof size);
  return block + kPrefix;
}

void WipingFree(void* /*opaque*/, void* address) {
  if (address == nullptr) return;
  unsigned char* block = static_cast<unsigned char*>(address) - kPrefix;
  size_t size = 0;
  std::memcpy(&size, block, sizeof size);
  sodium_memzero(address, size);  // windows and tables hold plaintext
  std::free(block);
}

constexpr ZSTD_customMem kWipingMem = {WipingAlloc, WipingFree, nullptr};

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// Digested once per process and kept: they hold only the (public) dictionary, never
// plaintext, so they need no wiping allocator.
const ZSTD_CDict* CompressionDictionary() {
  static const ZSTD_CDict* dictionary =
      ZSTD_createCDict(kBodyDictionaryV1, kBodyDictionaryV1Size, kBodyCompressionLevel);
  return dictionary;
}
const ZSTD_DDict* DecompressionDictionary() {
  static const ZSTD_DDict* dictionary = ZSTD_createDDict(kBodyDictionaryV1, kBodyDictionaryV1Size);
  return dictionary;
}

// ZSTD_MAGICNUMBER as it opens every frame (little-endian).
constexpr size_t kFrameMagicBytes = 4;
constexpr char kFrameMagic[kFrameMagicBytes] = {static_cast<char>(ZSTD_MAGICNUMBER & 0xff),
                                                static_cast<char>((ZSTD_MAGICNUMBER >> 8) & 0xff),
                                                static_cast<char>((ZSTD_MAGICNUMBER >> 16) & 0xff),
                                                static_cast<char>((ZSTD_MAGICNUMBER >> 24) & 0xff)};
static_assert((ZSTD_MAGICNUMBER & 0xff) == 0x28);
absl::string_view FrameMagic() { return absl::string_view(kFrameMagic, kFrameMagicBytes); }

}  // namespace

absl::string_view BodyDictionaryBytes(uint32_t id) {
  if (id != kCurrentBodyDictionary) return {};
  return absl::string_view(reinterpret_cast<const char*>(kBodyDictionaryV1), kBodyDictionaryV1Size);
}

bool IsKnownBodyDictionary(uint32_t id) {
  return id == kNoBodyDictionary || id == kCurrentBodyDictionary;
}

absl::StatusOr<std::string> CompressBody(absl::string_view plaintext, uint32_t dictionary) {
  if (!IsKnownBodyDictionary(dictionary)) {
    return absl::InvalidArgumentError("unknown body dictionary");
  }
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx_advanced(kWipingMem));
  if (cctx == nullptr) return absl::InternalError("zstd context allocation failed");
  std::string compressed(ZSTD_compressBound(plaintext.size()), '\0');
  size_t n;
  if (dictionary == kNoBodyDictionary) {
    // ZSTD_compressCCtx writes the content size into the frame header.
    n = ZSTD_compressCCtx(cctx.get(), compressed.data(), compressed.size(), plaintext.data(),
                          plaintext.size(), kBodyCompressionLevel);
  } else {
    if (CompressionDictionary() == nullptr) {
      return absl::InternalError("zstd dictionary allocation failed");
    }
    // kBodyCompressionLevel from the digested dictionary; content size in the frame, no dictionary
    // id (the header names the dictionary).
    if (ZSTD_isError(ZSTD_CCtx_refCDict(cctx.get(), CompressionDictionary())) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_dictIDFlag, 0))) {
      return absl::InternalError("zstd parameters failed");
    }
    n = ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(), plaintext.data(),
                       plaintext.size());
  }
  if (ZSTD_isError(n)) {
    WipeString(compressed);
    return absl::InternalError("zstd compression failed");
  }
  compressed.resize(n);
  // Every zstd frame starts with the same 4 bytes: leave them out (DecompressBody puts
  // them back).
  if (!absl::StartsWith(compressed, FrameMagic())) {
    WipeString(compressed);
    return absl::InternalError("zstd frame without magic number");
  }
  compressed.erase(0, kFrameMagicBytes);
  return compressed;
}

absl::StatusOr<std::string> DecompressBody(absl::string_view compressed, size_t max_output,
                                           uint32_t dictionary) {
  const absl::Status bad = absl::DataLossError("record body does not decode");
  if (!IsKnownBodyDictionary(dictionary)) return bad;
  // A body from CompressBody is a frame without its magic number; records sealed before
  // hold the whole frame. A frame's first byte after the magic (its header descriptor)
  // never equals the magic's first, 0x28 (reserved bit 3 set), so a body starts with the
  // magic exactly when it was sealed whole. Both then pass the same checks below.
  std::string framed;
  auto wipe_framed = absl::MakeCleanup([&] { WipeString(framed); });
  if (!absl::StartsWith(compressed, FrameMagic())) {
    framed = absl::StrCat(FrameMagic(), compressed);
    compressed = framed;
  }
  // One frame exactly: trailing frames or bytes would decode to something the declared
  // size does not cover.
  if (ZSTD_findFrameCompressedSize(compressed.data(), compressed.size()) != compressed.size()) {
    return bad;
  }
  const unsigned long long declared =
      ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ||
      declared > max_output) {
    return bad;
  }
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx_advanced(kWipingMem));
  if (dctx == nullptr) return absl::InternalError("zstd context allocation failed");
  // The output buffer is the declared size, so a frame that lies about its size fails
  // with dstSize_tooSmall instead of growing anything.
  std::string plaintext(static_cast<size_t>(declared), '\0');
  const ZSTD_DDict* ddict = nullptr;
  if (dictionary != kNoBodyDictionary) {
    ddict = DecompressionDictionary();
    if (ddict == nullptr) return absl::InternalError("zstd dictionary allocation failed");
  }
  const size_t n = ddict == nullptr
                       ? ZSTD_decompressDCtx(dctx.get(), plaintext.data(), plaintext.size(),
                                             compressed.data(), compressed.size())
                       : ZSTD_decompress_usingDDict(dctx.get(), plaintext.data(), plaintext.size(),
                                                    compressed.data(), compressed.size(), ddict);
  if (ZSTD_isError(n) || n != declared) {
    WipeString(plaintext);
    return bad;
  }
  return plaintext;
}

}  // namespace temoin::crypto::internal
