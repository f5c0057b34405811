#ifndef TEMOIN_SERVER_APP_WITNESS_TRANSPORT_H_
#define TEMOIN_SERVER_APP_WITNESS_TRANSPORT_H_

#include <memory>

#include "server/core/witness_pool.h"

namespace temoin::server {

// add-checkpoint over HTTP or HTTPS (cpp-httplib; https checks the witness's certificate
// against the system's CAs). A witness's answer is checked by its signature, not by the
// channel, so plain HTTP is sound; 5 s timeouts, so a dead witness delays only its turn.
std::unique_ptr<WitnessTransport> MakeHttpWitnessTransport();

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_WITNESS_TRANSPORT_H_
