#include "crypto/body_codec.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_customMem; exported by Debian 12's libzstd 1.5.4
#include <sodium.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "crypto/secret_buffer.h"

namespace temoin::crypto::internal {

// crypto/body_dictionary_data.cc.in (generated from data/body-dictionary-v1.zdict).
extern const unsigned char kBodyDictionaryV1[];
extern const size_t kBodyDictionaryV1Size;

namespace {

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
      ZSTD_createCDict(kBodyDictionaryV1, kBodyDictionaryV1Size, /*level=*/3);
  return dictionary;
}
const ZSTD_DDict* DecompressionDictionary() {
  static const ZSTD_DDict* dictionary = ZSTD_createDDict(kBodyDictionaryV1, kBodyDictionaryV1Size);
  return dictionary;
}

}  // namespace

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
                          plaintext.size(), /*level=*/3);
  } else {
    if (CompressionDictionary() == nullptr) {
      return absl::InternalError("zstd dictionary allocation failed");
    }
    // Level 3 from the digested dictionary; content size in the frame, no dictionary
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
  return compressed;
}

absl::StatusOr<std::string> DecompressBody(absl::string_view compressed, size_t max_output,
                                           uint32_t dictionary) {
  const absl::Status bad = absl::DataLossError("record body does not decode");
  if (!IsKnownBodyDictionary(dictionary)) return bad;
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
