#!/usr/bin/env bash
# Installs what is missing, builds tern (release) and runs it; extra arguments go to `tern serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target tern
exec build/release/server/app/tern serve "$@"
