#ifndef TEMOIN_CLIENT_CORE_JPEG_METADATA_H_
#define TEMOIN_CLIENT_CORE_JPEG_METADATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Photos carry more than the picture: EXIF (camera serial, time, GPS position),
// XMP, IPTC and comments can place a monitor or a witness. A reviewer needs the image;
// the GPS track of the person who took it is a risk to them if the record ever leaks.
namespace temoin::client {

// True when `bytes` starts like a JPEG (SOI marker).
bool LooksLikeJpeg(absl::string_view bytes);

// The same JPEG without APP1 (EXIF, XMP), APP2 (ICC/FlashPix extensions), APP12..APP15
// (Ducky, IPTC/Photoshop, Adobe-specific, comment-like) and COM segments; JFIF
// (APP0), Adobe (APP14, needed for colour decoding), the tables and the image data are
// kept byte for byte. `bytes` untrusted: kInvalidArgument "not a well-formed JPEG"
// when the segment structure does not parse (the caller then keeps the file as is only
// if the user asked to keep metadata).
absl::StatusOr<std::string> StripJpegMetadata(absl::string_view bytes);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_JPEG_METADATA_H_
