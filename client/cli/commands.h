#ifndef TEMOIN_CLIENT_CLI_COMMANDS_H_
#define TEMOIN_CLIENT_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

// The `temoin` commands of DESIGN.md "Command line". Each prints its result on stdout
// and everything meant for a person on stderr, and returns a status; main() turns a
// failure into one line on stderr and a non-zero exit.
namespace temoin::client::cli {

struct Globals {
  std::string home;
  std::string passphrase_file;
};

absl::Status Enroll(const Globals& g, const std::string& code);
absl::Status ProjectCreate(const Globals& g, const std::string& name);
absl::Status Invite(const Globals& g, const std::string& project, const std::string& role,
                    double ttl_hours, bool qr);
absl::Status Grant(const Globals& g, const std::string& project, const std::string& reviewer);
absl::Status Devices(const Globals& g);
absl::Status Record(const Globals& g, const std::string& project, const std::string& from,
                    const std::vector<std::string>& attachments);
absl::Status Sync(const Globals& g, const std::string& server, bool until_done,
                  double max_time_seconds);
absl::Status Status(const Globals& g, bool json);
absl::Status ReviewList(const Globals& g, bool offline);
absl::Status ReviewShow(const Globals& g, const std::string& id, bool offline);
absl::Status ReviewExport(const Globals& g, const std::string& format, const std::string& out,
                          bool offline);

}  // namespace temoin::client::cli

#endif  // TEMOIN_CLIENT_CLI_COMMANDS_H_
