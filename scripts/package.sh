#!/usr/bin/env bash
# Builds the Debian package tern_<version>_amd64.deb into build/package/ (Release, /usr prefix,
# Depends computed by dpkg-shlibdeps) and prints its path. Installs what it needs with
# scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --package >&2
# Debian's hardening flags (stack protector, fortify, PIE, relro, bindnow), as packagers build.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S . -B build/package -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
  -DTERN_TESTS=OFF -DTERN_BENCH=OFF -DTERN_WERROR=ON >&2
cmake --build build/package -j "$(nproc)" >&2
(cd build/package && cpack -G DEB >&2)
ls "$PWD"/build/package/tern_*_amd64.deb
