#!/usr/bin/env bash
# Installs the Debian packages tern needs to build and test; idempotent, installs only what is missing.
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev googletest openssl)
test_pkgs=(clang libclang-rt-14-dev coturn stun-client iproute2 python3)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# coturn's package starts a system service; tern's tests run their own servers only.
if [[ " ${missing[*]} " == *" coturn "* ]] && command -v systemctl >/dev/null; then
  "${sudo_cmd[@]}" systemctl disable --now coturn >/dev/null 2>&1 || true
fi
