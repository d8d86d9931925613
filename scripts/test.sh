#!/usr/bin/env bash
# Installs what is missing, builds the Debian package the plain CMake way (Release), then builds
# and runs every test: unit, vector, core, integration and browser end-to-end tests on a release
# build and again under ASan+UBSan, a two-minute soak, then each libFuzzer target for a bounded
# time.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${TERN_FUZZ_SECONDS:-30}
jobs=$(nproc)

step() { printf '\n==== %s (%ss)\n' "$1" "$SECONDS"; }

step "setup"
scripts/setup.sh --test
(cd tests/e2e && npm ci --no-audit --no-fund)  # playwright-core, ws (browser tests), kubernetes-models, yaml (tests/kubernetes)

# The Debian package, checked by lintian and installed into a clean Debian 12 root. Its build is
# the way the README builds without presets (CMake's Release, -O3) plus Debian's hardening
# flags, with warnings as errors so that warnings only the optimiser finds (GCC 12's -Wrestrict,
# say) fail CI, not users: one build serves both (tests and benchmarks build in the presets).
step "debian package (the plain Release build)"
deb=$(scripts/package.sh)
build/package/server/app/tern --version
build/package/server/app/tern print-default-config >build/package/default.yaml
build/package/server/app/tern check-config build/package/default.yaml
if [[ $(id -u) -eq 0 ]]; then
  tests/package/test_deb.sh "$deb"
else
  echo "debian package: not root, so not installed into a clean root (tests/package/test_deb.sh)"
fi
# The container image, built from the package with buildah and run by podman.
step "container image"
if [[ $(id -u) -eq 0 ]]; then
  image=$(scripts/container.sh "$deb")
  tests/package/test_container.sh "$image"
else
  echo "container image: not root, so not built (scripts/container.sh, tests/package/test_container.sh)"
fi

for preset in release asan; do
  step "build $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  step "test $preset"
  # The network lab (tests/netlab) needs root; as root here it must run, never skip. It runs on
  # the release build only: its browsers dominate its time, and the sanitizers already see the
  # same server code under the integration and e2e tests.
  netlab=()
  if [[ $(id -u) -eq 0 ]]; then netlab=(TERN_NETLAB_REQUIRED=1); fi
  labels=()
  if [[ $preset == asan ]]; then labels=(-LE netlab); fi
  env "${netlab[@]}" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset "$preset" -j "$jobs" --timeout 600 "${labels[@]}"
  if [[ $preset == release ]]; then
    # The benchmark tools against tern, coturn and the forwarder, ~1 s per shape, on the
    # release build just made: proves they work; no timing is asserted (docs/performance.md).
    step "bench smoke"
    bench/side_by_side.sh --smoke
    # The expiry sweep with 1k and 10k allocations in one worker's core (the 100k run is in
    # docs/performance.md): fails only if the allocations could not be made.
    step "sweep bench smoke"
    build/release/bench/tern_sweep_bench --sizes 1000,10000 --sweeps 20
    # The kernel relay (at tc and at XDP) against the user-space path in the namespace lab, one
    # short round of each shape (docs/offload.md); root only, like the lab itself.
    if [[ $(id -u) -eq 0 ]]; then
      step "offload bench smoke"
      bench/offload_lab.py --rounds 1 --duration 1 --xdp
    fi
    # Two minutes of the soak (tests/reliability/soak.py; the one-hour run is in
    # docs/reliability.md): any relayed loss, RSS or descriptor growth after warm-up, or an
    # allocation past its lifetime fails it.
    step "soak (2 minutes)"
    TERN_BINARY=build/release/server/app/tern TERN_BENCH_BINARY=build/release/bench/tern_bench \
      tests/reliability/soak.py --duration 120 --scale 0.25
  fi
done

step "build fuzz"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
tests/fuzz/make_corpus.sh "$corpus/seeds"
for target in build/fuzz/tests/fuzz/fuzz_*; do
  [[ -x "$target" ]] || continue
  name=$(basename "$target")
  step "fuzz $name for ${FUZZ_SECONDS}s"
  mkdir -p "$corpus/$name"
  "$target" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
    "$corpus/$name" "$corpus/seeds/$name" 2>&1 | tail -n 40
  # What the corpus reached in tern's own sources (edges and functions, from -print_coverage).
  "$target" -runs=0 -print_coverage=1 "$corpus/$name" 2>&1 | tests/fuzz/coverage.py
done
step "all tests passed"
