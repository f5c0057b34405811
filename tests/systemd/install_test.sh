#!/usr/bin/env bash
# deploy/install.sh into a staging DESTDIR: every file lands where the unit expects it,
# with the modes it needs, the unit's ExecStart names the installed binary, and the
# installed unit still verifies. (A real install creates a user and writes /etc: not on
# a shared test machine.)
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1"
build="$2"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" PREFIX=/usr/local BUILD="$build" bash "$src/deploy/install.sh" 2>/dev/null
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$stage/usr/local/bin/temoin-server" ] || fail "temoin-server not installed"
[ -x "$stage/usr/local/bin/temoin" ] || fail "temoin not installed"
[ "$(stat -c %a "$stage/var/lib/temoin")" = 700 ] || fail "data directory is not 0700"
[ "$(stat -c %a "$stage/etc/temoin/server.toml")" = 640 ] || fail "server.toml is not 0640"
[ "$(readlink "$stage/var/lib/temoin/server.toml")" = /etc/temoin/server.toml ] ||
  fail "DATA/server.toml does not point at /etc/temoin/server.toml"
grep -qx "ExecStart=/usr/local/bin/temoin-server run --data /var/lib/temoin" \
  "$stage/etc/systemd/system/temoin-server.service" || fail "ExecStart"
# The example file is accepted by the server as installed: with it, run gets past the
# settings and stops only at the (deliberately public) --metrics address.
"$build/server/temoin-server" init --data "$stage/probe" --org "Install test" \
  --listen 127.0.0.1:1 >/dev/null 2>&1
ln -s "$stage/etc/temoin/server.toml" "$stage/probe/server.toml"
out=$("$build/server/temoin-server" run --data "$stage/probe" --metrics 0.0.0.0:1 2>&1) &&
  fail "run with a public metrics address started"
grep -q loopback <<<"$out" || fail "the installed server.toml is refused: $out"
bash "$src/tests/systemd/verify_unit.sh" "$stage/etc/systemd/system/temoin-server.service" \
  "$stage/usr/local/bin/temoin-server" >/dev/null || fail "the installed unit does not verify"
# Running it again keeps an edited server.toml.
echo 'metrics = "127.0.0.1:9464"' >> "$stage/etc/temoin/server.toml"
DESTDIR="$stage" PREFIX=/usr/local BUILD="$build" bash "$src/deploy/install.sh" 2>/dev/null
grep -q '^metrics = ' "$stage/etc/temoin/server.toml" || fail "a second install overwrote server.toml"
echo "OK: install.sh stages the binaries, unit, /etc/temoin and the data directory"
