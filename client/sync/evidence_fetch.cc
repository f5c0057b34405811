#include "client/sync/evidence_fetch.h"

#include <sodium.h>

#include "client/core/device_state.h"
#include "client/sync/connection.h"
#include "client/sync/log_check.h"
#include "common/status_macros.h"
#include "temoin/v1/sync.grpc.pb.h"

namespace temoin::client {
namespace {

// The blob exactly as the server stores it; its size and hash are the device-signed ones.
absl::StatusOr<std::string> FetchCiphertext(Connection& connection, const std::string& record_id,
                                            const v1::AttachmentRef& ref) {
  v1::FetchAttachmentRequest request;
  request.set_record_id(record_id);
  request.set_blob_id(ref.blob_id());
  auto context = connection.NewContext(Connection::kTransferDeadline);
  auto reader = connection.sync().FetchAttachment(context.get(), request);
  std::string ciphertext;
  v1::AttachmentChunk chunk;
  bool too_large = false;
  while (reader->Read(&chunk)) {
    if (ciphertext.size() + chunk.data().size() > ref.size()) {
      too_large = true;
      context->TryCancel();
      break;
    }
    ciphertext += chunk.data();
  }
  absl::Status finished = FromGrpc(reader->Finish(), connection.address());
  if (too_large) return absl::DataLossError("attachment is larger than its header says");
  TEMOIN_RETURN_IF_ERROR(finished);
  std::string digest(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(digest.data()), digest.size(),
                     reinterpret_cast<const unsigned char*>(ciphertext.data()), ciphertext.size(),
                     nullptr, 0);
  if (ciphertext.size() != ref.size() || digest != ref.ciphertext_hash()) {
    return absl::DataLossError("attachment does not match the hash in its record");
  }
  return ciphertext;
}

}  // namespace

absl::StatusOr<ServerEvidence> FetchServerEvidence(Vault& vault, const SyncOptions& options,
                                                   const v1::FetchedEntry& entry,
                                                   const crypto::LogLeaf& leaf) {
  v1::RecordHeader header;
  if (!header.ParseFromString(entry.envelope().header())) {
    return absl::DataLossError("fetched record is damaged");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  const std::string& address =
      options.server_override.empty() ? profile.server_address() : options.server_override;
  TEMOIN_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> connection,
      Connection::Create(address, profile.tls_spki_sha256(),
                         /*bulk_downloads=*/true, profile.next_tls_spki_sha256()));
  TEMOIN_RETURN_IF_ERROR(SignInDevice(*connection, vault, profile));
  ServerEvidence out;
  // Checked as every sync checks the log (log_check.h), witnesses included.
  TEMOIN_RETURN_IF_ERROR(CheckLog(vault, *connection, profile.server_signing_key(), {leaf},
                                  LeafProofs::kPathEach, &out.log));
  for (const v1::AttachmentRef& ref : header.attachments()) {
    TEMOIN_ASSIGN_OR_RETURN(std::string ciphertext,
                            FetchCiphertext(*connection, header.record_id(), ref));
    out.attachments.push_back({ref.blob_id(), std::move(ciphertext)});
  }
  return out;
}

}  // namespace temoin::client
