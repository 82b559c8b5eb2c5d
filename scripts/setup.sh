#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian machine of this kind (run as root).
# Idempotent: packages already present are left alone.
# chromium renders the head-office report in the report test (headless); fonts-wqy-microhei gives it
# (and any headless render of the report) the Chinese glyphs. openssl makes the development
# certificates (scripts/dev-certs.sh); libssl-dev gives the C client its TLS. prometheus scrapes the real
# services in the metrics test, and its promtool checks services/prometheus/ (scripts/test.sh).
# For scripts/check-deploy.sh (the Kubernetes manifests, checked offline): kubernetes-validate from
# PyPI in tools/venv (it ships the API schemas), and kubectl for `kubectl kustomize` (machines of this
# kind have it; elsewhere apt installs it where a Kubernetes apt repository is configured).
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

if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1; then
  if apt-cache policy kubectl 2>/dev/null | grep -q "Candidate: [0-9]"; then
    echo "setup: installing kubectl"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null
  else
    echo "setup: no kubectl or kustomize, and no apt package for kubectl: scripts/check-deploy.sh will skip rendering" >&2
  fi
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
validate_version=1.37.0
if ! "$root/tools/venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$validate_version"; then
  echo "setup: installing kubernetes-validate $validate_version in tools/venv"
  if ! python3 -m venv "$root/tools/venv" 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$root/tools/venv"
    python3 -m venv "$root/tools/venv"
  fi
  links=()
  [ -d /opt/wheels ] && links=(--find-links /opt/wheels)
  if ! "$root/tools/venv/bin/pip" install -q --disable-pip-version-check "${links[@]}" "kubernetes-validate==$validate_version"; then
    echo "setup: could not install kubernetes-validate: scripts/check-deploy.sh will skip validation" >&2
  fi
fi
