#!/usr/bin/env bash
# Runs every check CI runs: the project's own installs, the Kubernetes manifests (rendered and
# validated offline), generated code up to date, a build with zero warnings in our code, then every
# test (unit, runtime, and the real executables as processes), under a watchdog that turns a hang
# into a failure naming the tests still running (scripts/watched-swift-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== Kubernetes manifests (deploy/kubernetes, offline)"
scripts/check-deploy.sh

echo "== generated code is what proto/ says"
scripts/generate-proto.sh
if [ -n "$(git status --porcelain -- Sources/CRMWire/Generated Sources/CRMRPC/Generated Sources/CRMProtos/Generated clients/c/generated 2>/dev/null)" ]; then
  git status --short -- Sources/*/Generated clients/c/generated
  echo "generated code differs from proto/: run scripts/generate-proto.sh and commit the result" >&2
  exit 1
fi

echo "== Prometheus configuration and alert rules (services/prometheus)"
promtool check config services/prometheus/prometheus.yml
promtool check rules services/prometheus/crm-alerts.yml
(cd services/prometheus && promtool test rules crm-alerts-test.yml)
python3 -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' services/grafana/*.json

echo "== build (zero warnings in Sources/ and Tests/)"
build_log=$(mktemp)
swift build --build-tests 2>&1 | tee "$build_log" | grep -E "error:|Compiling|Build complete" | grep -v "^\[" || true
if grep -q "error:" "$build_log"; then
  echo "build failed" >&2
  exit 1
fi
if grep -E "^$PWD/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$build_log" | grep -v "/Generated/" | sort -u | grep .; then
  echo "the build printed warnings in our code; the project keeps zero" >&2
  exit 1
fi

if [ -x scripts/test-c-client.sh ]; then
  echo "== C client"
  scripts/test-c-client.sh
fi

echo "== swift test"
scripts/watched-swift-test.sh
