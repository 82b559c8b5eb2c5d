#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian machine of this kind (run as root).
# Idempotent: packages already present are left alone.
# chromium renders the head-office report in the report test (headless); fonts-wqy-microhei gives it
# (and any headless render of the report) the Chinese glyphs. openssl makes the development
# certificates (scripts/dev-certs.sh); libssl-dev gives the C client its TLS. prometheus scrapes the real
# services in the metrics test, and its promtool checks services/prometheus/ (scripts/test.sh).
set -euo pipefail
packages=(protobuf-compiler libsqlite3-dev protobuf-c-compiler libprotobuf-c-dev chromium fonts-wqy-microhei openssl libssl-dev prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
