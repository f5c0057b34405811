#!/usr/bin/env bash
# Installs temoin-server as a system service: the binaries, a system user, the hardened
# unit, /etc/temoin/ (server.toml) and the data directory /var/lib/temoin. Run as root
# after deploy/setup.sh has built the tree. It does not initialise the server (that needs
# your organisation's name) and does not start it; it prints the commands that do.
#   sudo bash deploy/install.sh
# Options (environment): PREFIX (default /usr/local), BUILD (default ./build),
# DESTDIR (stage the files under this directory instead, as packagers do: no user is
# created, nothing is chowned, systemd is not reloaded; tests/systemd/install_test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${PREFIX:-/usr/local}"
build="${BUILD:-$(pwd)/build}"
dest="${DESTDIR:-}"
user=temoin
data=/var/lib/temoin
etc=/etc/temoin
unit=/etc/systemd/system/temoin-server.service

if [ -z "$dest" ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo)" >&2; exit 1
fi
for b in server/temoin-server client/temoin; do
  [ -x "$build/$b" ] || { echo "install.sh: $build/$b is missing; run deploy/setup.sh first" >&2; exit 1; }
done

# owner USER:GROUP PATH: chown for real installs only.
owner() { if [ -z "$dest" ]; then chown "$1" "$2"; fi; }

install -d -m 0755 "$dest$prefix/bin" "$dest/etc/systemd/system"
install -m 0755 "$build/server/temoin-server" "$dest$prefix/bin/temoin-server"
install -m 0755 "$build/client/temoin" "$dest$prefix/bin/temoin"

# A system user with no shell and no home of its own: it only runs the server.
if [ -z "$dest" ] && ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$data" --no-create-home \
    --shell /usr/sbin/nologin --comment "Temoin server" "$user"
fi

install -d -m 0700 "$dest$data"
owner "$user:$user" "$dest$data"
install -d -m 0750 "$dest$etc"
owner "root:$user" "$dest$etc"
if [ ! -e "$dest$etc/server.toml" ]; then
  cat > "$dest$etc/server.toml" <<'TOML'
# temoin-server run settings: any `temoin-server run` flag, without its dashes.
# A flag on the command line (the unit's ExecStart) overrides this file.
# See docs/admin-guide.md, section 9.
# listen = "0.0.0.0:7443"
# metrics = "127.0.0.1:9464"
# log-format = "json"
# shutdown-seconds = 10
TOML
  chmod 0640 "$dest$etc/server.toml"
  owner "root:$user" "$dest$etc/server.toml"
fi
# The server reads DATA/server.toml; the operator edits /etc/temoin/server.toml.
ln -sfn "$etc/server.toml" "$dest$data/server.toml"

sed "s|/usr/local/bin/temoin-server|$prefix/bin/temoin-server|" \
  deploy/systemd/temoin-server.service > "$dest$unit"
chmod 0644 "$dest$unit"
if [ -z "$dest" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

cat >&2 <<MSG
install.sh: installed $dest$prefix/bin/temoin-server, $dest$prefix/bin/temoin, $dest$unit,
$dest$etc/server.toml and $dest$data.
Next, once:
  sudo -u $user $prefix/bin/temoin-server init --data $data --org "YOUR ORGANISATION" --listen HOST:7443
  (keep the enrolment code it prints: it enrols your admin device)
Then:
  sudo systemctl enable --now temoin-server
  journalctl -u temoin-server -f
MSG
