#include "client/core/cover_selection.h"

#include "client/core/device_state.h"
#include "client/core/grant_book.h"
#include "client/core/log_state.h"
#include "client/core/outbox.h"
#include "client/core/witness_policy.h"
#include "temoin/v1/client_store.pb.h"

namespace temoin::client {

CoverSelection EnrolmentCoverSelection() {
  CoverSelection selection;
  selection.namespaces = {kProfileNs, kSettingsNs,  kProjectNs, kLogNs,
                          kWitnessNs, kGrantBookNs, kOutboxNs};
  selection.keep = [](absl::string_view ns, absl::string_view, absl::string_view value) {
    if (ns != kOutboxNs) return true;
    v1::OutboxEntry entry;
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
    // Receipted records only: anything else would show as not yet sent.
    return entry.state() == v1::RECORD_STATE_PURGED || entry.state() == v1::RECORD_STATE_RECEIVED;
  };
  return selection;
}

absl::Status RefreshEnrolmentCover(Vault& vault) {
  return vault.RefreshCover(EnrolmentCoverSelection());
}

}  // namespace temoin::client
