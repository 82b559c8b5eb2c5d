#!/usr/bin/env bash
# Makes the development PKI the services and clients use with TLS: a CA, a certificate per service
# (profiles, products, matching, compensation) valid as server and as client (mutual TLS), and one
# for an operator (ops). Each leaf names DNS:localhost, IP:127.0.0.1, IP:::1 and
# URI:spiffe://brokerage-crm/<name>, the name services map to principals (certificatePrincipals).
#
#   scripts/dev-certs.sh [DIR]      # default data/certs (gitignored); crmctl up and scripts/up.sh use it
#
# For development only: short-lived (CA 90 days, leaves 30), marked "not for production" in every
# subject, generated on the machine that uses them and never committed. Idempotent: an existing set
# is kept while every file is there and no certificate expires within 7 days; otherwise the whole
# set is made anew (a new CA too). The new set replaces the old one in one rename of each file, so a
# service reloading on SIGHUP never reads half of it. Needs openssl (scripts/setup.sh installs it).
set -euo pipefail
dir="${1:-data/certs}"
names=(profiles products matching compensation ops)
org="Brokerage CRM development - not for production"

fresh() {
  [ -s "$dir/ca.crt" ] && [ -s "$dir/ca.key" ] || return 1
  openssl x509 -checkend $((7 * 86400)) -noout -in "$dir/ca.crt" >/dev/null || return 1
  for name in "${names[@]}"; do
    [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] || return 1
    openssl x509 -checkend $((7 * 86400)) -noout -in "$dir/$name.crt" >/dev/null || return 1
  done
}

if fresh; then
  exit 0
fi

mkdir -p "$dir"
work="$(mktemp -d "$dir/.new.XXXXXX")"
trap 'rm -rf "$work"' EXIT
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -sha256 -days 90 -subj "/O=$org/CN=CRM development CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$work/ca.crt" 2>/dev/null

for name in "${names[@]}"; do
  key "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "/O=$org/CN=$name" -out "$work/$name.csr" 2>/dev/null
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,URI:spiffe://brokerage-crm/$name" > "$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -sha256 -days 30 \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
  openssl verify -CAfile "$work/ca.crt" "$work/$name.crt" >/dev/null
done

chmod 644 "$work"/*.crt
for file in ca.crt ca.key; do mv -f "$work/$file" "$dir/$file"; done
for name in "${names[@]}"; do
  mv -f "$work/$name.key" "$dir/$name.key"
  mv -f "$work/$name.crt" "$dir/$name.crt"
done
echo "dev-certs: made a development CA and certificates for ${names[*]} in $dir (valid 30 days)"
