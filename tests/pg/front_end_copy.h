#ifndef TEMOIN_TESTS_PG_FRONT_END_COPY_H_
#define TEMOIN_TESTS_PG_FRONT_END_COPY_H_

#include <string>

namespace temoin::testing {

// Makes `to` the data directory of a second front-end of the PostgreSQL store that the
// server data directory `from` uses: its keys, TLS certificate and configuration, as
// an operator copies them (docs/operations.md), never its runtime files (the relay spool,
// the control socket). Throws std::filesystem::filesystem_error on failure.
void CopyFrontEnd(const std::string& from, const std::string& to);

}  // namespace temoin::testing

#endif  // TEMOIN_TESTS_PG_FRONT_END_COPY_H_
