#!/usr/bin/env bash
# Regenerates the committed C code of the C client (clients/c/generated) from proto/ with protoc-c.
# Never edit the generated files by hand. protoc-c and libprotobuf-c come from Debian's
# protobuf-c-compiler and libprotobuf-c-dev (scripts/setup.sh installs them). The output depends only
# on the .proto files and the protoc-c version, so running this twice gives identical files.
set -euo pipefail
cd "$(dirname "$0")/.."

out=clients/c/generated
rm -rf "$out"
mkdir -p "$out"
protoc --c_out="$out" -I proto \
  crm/wire/v1/envelope.proto \
  crm/rpc/v1/health.proto \
  crm/common/v1/types.proto \
  crm/profiles/v1/profiles.proto \
  crm/products/v1/products.proto \
  crm/matching/v1/matching.proto \
  crm/compensation/v1/compensation.proto \
  crm/bench/v1/bench.proto
echo "generated C into $out with $(protoc-c --version 2>&1 | head -n1)"
