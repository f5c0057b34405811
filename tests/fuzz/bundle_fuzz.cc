// Bundles (server/core/bundle_import.h, ImportBundle on a MemoryStore), as `temoin-server
// import` and the Relay call take them from anyone. Input: mode byte || bytes. Even
// mode: the bytes are the bundle file as is (magic, SealedBundle, sealed key, stream).
// Odd mode: the bytes are a Bundle's plaintext, sealed to this server's bundle key
// first, as any device holding the server's public bundle key can do, so that
// everything after decryption (the Bundle, its records, its blobs) is reached.
#include <cstddef>
#include <cstdint>

#include "server/core/bundle_import.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/fuzz_world.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  std::unique_ptr<FuzzWorld> world = FuzzWorld::Create();
  FixedBlob blob = MakeFixedBlob(1000, 9);
  v1::Bundle bundle;
  bundle.set_device_id(world->monitor().id);
  *bundle.add_records() = world->Seal(1);
  v1::Envelope with_blob = world->Seal(3, {blob.ref});
  *bundle.add_records() = with_blob;
  v1::RecordHeader header;
  header.ParseFromString(with_blob.header());
  v1::BundleBlob* bundle_blob = bundle.add_blobs();
  bundle_blob->set_record_id(header.record_id());
  bundle_blob->set_blob_id(blob.ref.blob_id());
  for (const std::string& slice : blob.slices) bundle_blob->add_chunks(slice);
  std::string plaintext = bundle.SerializeAsString();
  return {std::string(1, '\1') + plaintext, std::string(1, '\3') + plaintext,
          std::string(1, '\0') + world->SealBundle(plaintext)};
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  if (size < 1) return 0;
  std::unique_ptr<fuzz::FuzzWorld> world = fuzz::FuzzWorld::Create();
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) bytes = world->SealBundle(bytes);
  absl::StatusOr<server::BundleImportReport> report = server::ImportBundle(world->core(), bytes);
  if (!report.ok()) return 0;
  if (report->refusals.size() != report->refused) __builtin_trap();
  // A second import of a bundle that was taken whole finds nothing new (a record still
  // awaiting its attachments included: docs/fuzzing.md, finding 1). A refusal (a rate
  // limit, say) may let a record in the second time, so only a clean first import counts.
  absl::StatusOr<server::BundleImportReport> again = server::ImportBundle(world->core(), bytes);
  if (report->refused == 0 && again.ok() && again->records != 0) __builtin_trap();
  return 0;
}
