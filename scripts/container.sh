#!/usr/bin/env bash
# Builds the container image localhost/tern:<version> with buildah, from scratch: the packaged
# /usr/bin/tern (hardened, stripped), exactly the shared libraries it loads, a non-root user,
# /etc/tern/tern.yaml for containers (JSON logs to stdout) and a writable /var/lib/tern. No
# shell, no package manager, no registry. Prints the image name.
# Usage: scripts/container.sh [build/package/tern_VERSION_amd64.deb]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(scripts/package.sh)}
scripts/setup.sh --container >&2
version=$(dpkg-deb -f "$deb" Version)
image=localhost/tern:$version

work=$(mktemp -d /tmp/tern-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/deb"
root=$work/root
mkdir -p "$root/usr/bin" "$root/etc/tern" "$root/var/lib/tern" "$root/tmp"
cp "$work/deb/usr/bin/tern" "$root/usr/bin/tern"
# The libraries the dynamic loader resolves for tern, and the loader itself, at their paths.
ldd "$root/usr/bin/tern" | awk '/=> \// {print $3} /^[ \t]*\// {print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0::/:/nonexistent\ntern:x:10000:10000::/var/lib/tern:/nonexistent\n' >"$root/etc/passwd"
printf 'root:x:0:\ntern:x:10000:\n' >"$root/etc/group"
cp deploy/container/tern.yaml "$root/etc/tern/tern.yaml"
chown 10000:10000 "$root/var/lib/tern"
chmod 1777 "$root/tmp"

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$root" / >/dev/null
buildah config --user 10000:10000 --workingdir /var/lib/tern \
  --env TERN_STATE_DIR=/var/lib/tern \
  --port 3478/udp --port 3478/tcp --port 5349/tcp --port 9641/tcp \
  --entrypoint '["/usr/bin/tern"]' --cmd '["serve", "--config", "/etc/tern/tern.yaml"]' \
  --label org.opencontainers.image.title=tern \
  --label org.opencontainers.image.version="$version" "$ctr"
podman rmi -f "$image" >/dev/null 2>&1 || true  # no untagged leftover of an earlier build
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
echo "$image"
