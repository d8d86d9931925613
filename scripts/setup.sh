#!/usr/bin/env bash
# Installs the Debian packages tern needs to build and test; idempotent, installs only what is missing.
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev googletest openssl libcli11-dev zlib1g-dev
  clang libbpf-dev)  # clang compiles the eBPF steering program (server/net/bpf)
# chromium runs the browser tests (tests/e2e), driven by Node.js and npm's playwright-core.
test_pkgs=(libclang-rt-14-dev coturn stun-client iproute2 nftables python3 prometheus chromium
  systemd faketime haproxy curl ethtool)  # systemd-analyze checks deploy/systemd; faketime steps the wall
# clock (test_faults); haproxy sends PROXY protocol headers and X-Forwarded-For
# (test_proxy_protocol); curl --no-alpn is an HTTPS client without ALPN (test_shared_port);
# ethtool turns off transmit checksumming in the offload lab (tests/offload)

# The Debian package (scripts/package.sh) and its test: shlibdeps, man page, lintian, a clean root.
package_pkgs=(dpkg-dev fakeroot help2man lintian mmdebstrap)

# The container image (scripts/container.sh) and its test: buildah builds, podman runs (runc).
container_pkgs=(buildah podman runc)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--package" || "${1:-}" == "--test" ]]; then want+=("${package_pkgs[@]}"); fi
if [[ "${1:-}" == "--container" || "${1:-}" == "--test" ]]; then want+=("${package_pkgs[@]}" "${container_pkgs[@]}"); fi
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_pkgs[@]}")
  # Node.js from any source will do (some images ship it outside dpkg); Debian's otherwise.
  if ! command -v node >/dev/null; then want+=(nodejs); fi
  if ! command -v npm >/dev/null; then want+=(npm); fi
  # kubectl kustomize renders deploy/kubernetes (tests/kubernetes); Debian's is kubernetes-client.
  if ! command -v kubectl >/dev/null; then want+=(kubernetes-client); fi
fi

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
# coturn's and prometheus's packages start system services (prometheus also pulls in
# prometheus-node-exporter); tern's tests run their own servers only.
stop_services=()
for svc in coturn prometheus haproxy; do
  if [[ " ${missing[*]} " == *" $svc "* ]]; then stop_services+=("$svc"); fi
done
if [[ " ${stop_services[*]} " == *" prometheus "* ]]; then stop_services+=(prometheus-node-exporter); fi
for svc in "${stop_services[@]}"; do
  if command -v systemctl >/dev/null; then
    "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  # Without systemd (containers) the package's init script may have started it.
  if [[ -x /etc/init.d/$svc ]]; then
    "${sudo_cmd[@]}" /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
  fi
done
