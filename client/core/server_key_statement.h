// The next server-key statement an admin signs (temoin admin certify-server-keys): which
// receipt and log keys the organisation vouches for, and for which hours. Pure: no
// vault, no network, so that the hours it gives each key can be tested exactly.
#ifndef TEMOIN_CLIENT_CORE_SERVER_KEY_STATEMENT_H_
#define TEMOIN_CLIENT_CORE_SERVER_KEY_STATEMENT_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/core/server_keys_state.h"
#include "crypto/server_keys.h"

namespace temoin::client {

// The statement to sign at `now_seconds`: every key the held one lists, with these as
// the current ones. Current receipt keys are exactly `receipt_key` and, during a
// rotation, `next_receipt_key`: any other current one is retired now (the key the
// server signed with before its switch). Log keys the same, with `log_vkey` and
// `next_log_vkey`.
//
// Times are whole minutes. A key certified for the first time is valid from 0 ("since
// the server began") in the first statement, since it signed receipts before anyone
// certified it, and from `now_seconds` rounded down after. A retired key stays valid up
// to `now_seconds` rounded *up*: it may have signed until this very second, and a
// receipt names only its hour, so rounding down would disown a receipt signed in the
// minute of the retirement when that minute opens an hour.
//
// kFailedPrecondition when a key the organisation retired is named current again.
absl::StatusOr<crypto::ServerKeys> NextServerKeyStatement(const std::optional<HeldServerKeys>& held,
                                                          absl::string_view receipt_key,
                                                          absl::string_view next_receipt_key,
                                                          absl::string_view log_vkey,
                                                          absl::string_view next_log_vkey,
                                                          int64_t now_seconds);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_SERVER_KEY_STATEMENT_H_
