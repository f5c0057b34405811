#include "crypto/body_codec.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_customMem; exported by Debian 12's libzstd 1.5.4
#include <sodium.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "crypto/secret_buffer.h"

namespace temoin::crypto::internal {
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

}  // namespace

absl::StatusOr<std::string> CompressBody(absl::string_view plaintext) {
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx_advanced(kWipingMem));
  if (cctx == nullptr) return absl::InternalError("zstd context allocation failed");
  std::string compressed(ZSTD_compressBound(plaintext.size()), '\0');
  // ZSTD_compressCCtx writes the content size into the frame header.
  const size_t n = ZSTD_compressCCtx(cctx.get(), compressed.data(), compressed.size(),
                                     plaintext.data(), plaintext.size(), /*level=*/3);
  if (ZSTD_isError(n)) {
    WipeString(compressed);
    return absl::InternalError("zstd compression failed");
  }
  compressed.resize(n);
  return compressed;
}

absl::StatusOr<std::string> DecompressBody(absl::string_view compressed, size_t max_output) {
  const absl::Status bad = absl::DataLossError("record body does not decode");
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
  const size_t n = ZSTD_decompressDCtx(dctx.get(), plaintext.data(), plaintext.size(),
                                       compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != declared) {
    WipeString(plaintext);
    return bad;
  }
  return plaintext;
}

}  // namespace temoin::crypto::internal
