#!/usr/bin/env bash
# Builds the system and brings all four services up on the embedded default (SQLite under ./data),
# waits until each is healthy and prints the endpoints. Ctrl-C stops them gracefully.
# Extra arguments go to `crmctl up` (see `crmctl up --help`): `scripts/up.sh --demo` then loads a
# generated brokerage, trains the model and prints the walkthrough (README, "The demo").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build
exec .build/debug/crmctl up "$@"
