#!/usr/bin/env bash
# Builds coturn 4.17.1, the newest coturn and tern's performance baseline, from its upstream
# source into a cache outside the tree, once; prints the install prefix (bin/turnserver,
# bin/turnutils_uclient, bin/turnutils_peer). Later calls print the cached prefix at once.
#
# Source: $COTURN_SRC, a checkout of tag 4.17.1 or a git directory that has the tag (no
# network is needed). Without a cached build or a source it exits 3 and says so; the bench
# then runs against Debian's coturn 4.6.1 only.
# Cache: $TERN_BENCH_CACHE, else $XDG_CACHE_HOME/tern-bench, else ~/.cache/tern-bench.
set -euo pipefail
version=4.17.1
cache=${TERN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tern-bench}
prefix=$cache/coturn-$version
tools=(turnserver turnutils_uclient turnutils_peer)

built() {
  local t
  for t in "${tools[@]}"; do [[ -x $prefix/bin/$t ]] || return 1; done
}
if built; then
  echo "$prefix"
  exit 0
fi
src=${COTURN_SRC:-}
if [[ -z $src ]]; then
  echo "build_coturn: no coturn $version in $prefix; set COTURN_SRC to its source (a checkout," \
    "or a git directory with tag $version) to build it" >&2
  exit 3
fi

# Its build dependencies, from Debian.
pkgs=(cmake pkg-config libevent-dev libssl-dev libsqlite3-dev libmicrohttpd-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build_coturn: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/coturn-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
if git -C "$src" rev-parse -q --verify "refs/tags/$version^{commit}" >/dev/null 2>&1; then
  git -C "$src" archive "$version" | tar -x -C "$work"
elif [[ -f $src/CMakeLists.txt ]]; then
  cp -a "$src/." "$work/"
else
  echo "build_coturn: $src is neither a coturn checkout nor a git directory with tag $version" >&2
  exit 2
fi
if ! grep -rqs "$version" "$work/ChangeLog" "$work/CMakeLists.txt" "$work/src/ns_turn_defs.h"; then
  echo "build_coturn: $src does not look like coturn $version" >&2
  exit 2
fi
echo "build_coturn: building coturn $version into $prefix (a few minutes, once)" >&2
cmake -S "$work" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
cmake --install "$work/build" >/dev/null
chmod +x "$prefix"/bin/*  # its install leaves the binaries without the execute bit
ln -sfn turnserver "$prefix/bin/turnadmin"  # it pointed into the build directory
built || { echo "build_coturn: $prefix/bin lacks one of ${tools[*]}" >&2; exit 1; }
echo "$prefix"
