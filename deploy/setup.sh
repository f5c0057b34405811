#!/usr/bin/env bash
# Installs everything Temoin needs from Debian 12's packages and builds it into build/.
# Idempotent: safe to run again (apt skips what is installed, CMake rebuilds only what
# changed). Run as root on a fresh Debian 12 machine:  bash deploy/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libsodium-dev librocksdb-dev libzstd-dev libssl-dev
  libcli11-dev nlohmann-json3-dev libqrencode-dev libgfshare-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format tmux openssl
  python3-h2 python3-nacl zstd
  libcpp-httplib-dev prometheus-cpp-dev libtomlplusplus-dev
  clang-14 libfuzzer-14-dev chromium nodejs poppler-utils
  postgresql-15 libpq-dev
)
# npm: Debian's package, unless the installed nodejs (e.g. NodeSource's) brings its own.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "setup: all packages present" >&2
fi

# The desk's browser test (tests/desk/): playwright-core from npm, pinned by the lock
# file, driving Debian's chromium (Playwright's own browser download is not used).
(cd tests/desk && npm ci --no-audit --no-fund --loglevel=error) >&2

# Two cores on the reference machines: -j2 keeps memory and time predictable.
jobs="${TEMOIN_JOBS:-2}"
# -O2 as in RelWithDebInfo, without debug info: debug info made each object ~20x larger
# and compiling ~35% slower, which CI (a fresh machine, no compiler cache) pays in full.
# Developers who want a debugger configure their own build dir (docs/development.md).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >&2
ninja -C build -j"$jobs" >&2
echo "setup: built build/server/temoin-server and build/client/temoin" >&2
