#!/usr/bin/env bash
# Builds the system and brings all four services up on the embedded default (SQLite under ./data),
# waits until each is healthy and prints the endpoints. Ctrl-C stops them gracefully.
# Extra arguments go to `crmctl up` (see `crmctl up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build
exec .build/debug/crmctl up "$@"
