#!/usr/bin/env bash
# Builds the system and brings all four services up on the embedded default (SQLite under ./data),
# waits until each is healthy and prints the endpoints. Ctrl-C stops them gracefully.
# Extra arguments go to `crmctl up` (see `crmctl up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product crmctl
swift build --product crm-profiles
swift build --product crm-products
swift build --product crm-matching
swift build --product crm-compensation
exec .build/debug/crmctl up "$@"
