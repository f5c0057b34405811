#ifndef TEMOIN_CLIENT_DESK_DESK_ASSETS_H_
#define TEMOIN_CLIENT_DESK_DESK_ASSETS_H_

#include "absl/strings/string_view.h"

// The page's static files (client/desk/assets/), built into the binary by
// cmake/embed_assets.cmake: the desk needs no file and no network to serve itself.
namespace temoin::client::desk {

struct Asset {
  absl::string_view path;  // "/index.html", "/app.js", ...
  absl::string_view media_type;
  absl::string_view body;
};

// nullptr when there is no such asset.
const Asset* FindAsset(absl::string_view path);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_ASSETS_H_
