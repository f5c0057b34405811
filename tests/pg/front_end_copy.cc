#include "tests/pg/front_end_copy.h"

#include <filesystem>

namespace temoin::testing {

void CopyFrontEnd(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (name == "spool" || name == "control.sock") continue;
    fs::copy(entry.path(), fs::path(to) / name, fs::copy_options::recursive);
  }
}

}  // namespace temoin::testing
