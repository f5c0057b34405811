#ifndef TEMOIN_SERVER_APP_CONFIG_FILE_H_
#define TEMOIN_SERVER_APP_CONFIG_FILE_H_

#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"

// DATA/server.toml: every `temoin-server run` flag may be set there, by its name without
// the dashes (`metrics = "127.0.0.1:9464"`, `max-streams = 8`, `log-peer-addresses =
// false`). A flag on the command line overrides the file.
namespace temoin::server {

inline constexpr char kConfigFileName[] = "server.toml";

// A setting as the command line would carry it: the flag's name and its value as text.
using ConfigSetting = std::pair<std::string, std::string>;

// The top-level keys of the TOML file at `path`, in file order. No file: no settings.
// kInvalidArgument (naming the file, line and key) for a syntax error, or for a value
// that is not a string, number or boolean.
absl::StatusOr<std::vector<ConfigSetting>> ReadConfigFile(const std::string& path);

// Gives each setting to the option of `run` with its name, unless the command line
// already set that option. kInvalidArgument naming the key for an unknown key (or
// "data", which only the command line can give), and for a value the option refuses
// (the option's own check: range, number).
absl::Status ApplyConfig(const std::vector<ConfigSetting>& settings, CLI::App& run,
                         const std::string& file_name);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_CONFIG_FILE_H_
