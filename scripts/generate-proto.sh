#!/usr/bin/env bash
# Regenerates the committed Swift code from proto/. Never edit the generated files by hand.
#
# protoc comes from Debian's protobuf-compiler (scripts/setup.sh installs it); protoc-gen-swift is
# built here from the same swift-protobuf version the runtime links, so generator and runtime agree.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product protoc-gen-swift >/dev/null
plugin="$(swift build -c release --show-bin-path)/protoc-gen-swift"

# generate OUTPUT_DIR PROTO...: replaces OUTPUT_DIR with the code for the given files.
generate() {
  local out="$1"; shift
  rm -rf "$out"
  mkdir -p "$out"
  protoc --plugin="protoc-gen-swift=$plugin" \
    --swift_out="$out" \
    --swift_opt=Visibility=Public \
    --swift_opt=FileNaming=PathToUnderscores \
    -I proto "$@"
}

# The codec owns the envelope; the runtime owns health; everything else is the services' contract.
generate Sources/CRMWire/Generated crm/wire/v1/envelope.proto
generate Sources/CRMRPC/Generated crm/rpc/v1/health.proto
generate Sources/CRMProtos/Generated \
  crm/common/v1/types.proto \
  crm/profiles/v1/profiles.proto \
  crm/products/v1/products.proto \
  crm/matching/v1/matching.proto \
  crm/compensation/v1/compensation.proto \
  crm/bench/v1/bench.proto

if [ -x scripts/generate-c.sh ]; then scripts/generate-c.sh; fi
echo "generated Swift from proto/ with $(protoc --version)"
