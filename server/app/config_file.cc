#include "server/app/config_file.h"

#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "toml++/toml.h"

namespace temoin::server {
namespace {

// The value as the command line would spell it; std::nullopt for arrays, tables, dates.
std::optional<std::string> AsFlagValue(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* f = node.as_floating_point()) {
    std::ostringstream out;
    out << f->get();
    return out.str();
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::vector<ConfigSetting>> ReadConfigFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::vector<ConfigSetting>{};
  toml::table table;
  try {
    // toml++ reports syntax errors by exception (Debian builds it with them); caught
    // here, at the boundary, and turned into a status.
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":",
                                                   static_cast<uint64_t>(e.source().begin.line),
                                                   ": ", std::string(e.description())));
  }
  std::vector<ConfigSetting> settings;
  for (const auto& [key, node] : table) {
    // An array gives a repeatable flag (`witness = ["URL=VKEY", ...]`) one value each.
    if (const toml::array* array = node.as_array()) {
      for (const toml::node& element : *array) {
        std::optional<std::string> value = AsFlagValue(element);
        if (!value.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ":", static_cast<uint64_t>(element.source().begin.line), ": ",
                           std::string(key.str()), ": expected an array of plain values"));
        }
        settings.emplace_back(std::string(key.str()), std::move(*value));
      }
      continue;
    }
    std::optional<std::string> value = AsFlagValue(node);
    if (!value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", static_cast<uint64_t>(node.source().begin.line), ": ",
                       std::string(key.str()), ": expected a string, a number or true/false"));
    }
    settings.emplace_back(std::string(key.str()), std::move(*value));
  }
  return settings;
}

absl::Status ApplyConfig(const std::vector<ConfigSetting>& settings, CLI::App& run,
                         const std::string& file_name) {
  // Read before any value of the file is added: a repeatable flag set by the file for
  // its first value must still take the file's next ones.
  std::set<std::string> from_command_line;
  for (const CLI::Option* option : run.get_options()) {
    if (option->count() == 0) continue;
    from_command_line.insert(option->get_name(/*positional=*/false, /*all_options=*/false));
  }
  for (const auto& [key, value] : settings) {
    CLI::Option* option = key == "data" || key == "help" || key.starts_with("-")
                              ? nullptr
                              : run.get_option_no_throw("--" + key);
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ": unknown key '", key,
                       "' (keys are `temoin-server run` flags without "
                       "their dashes; see temoin-server run --help)"));
    }
    // The command line wins.
    if (from_command_line.count(option->get_name(false, false)) > 0) continue;
    try {
      // CLI11 checks and converts the value as if it came on the command line.
      option->add_result(value);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return absl::InvalidArgumentError(absl::StrCat(file_name, ": ", key, ": ", e.what()));
    }
  }
  return absl::OkStatus();
}

}  // namespace temoin::server
