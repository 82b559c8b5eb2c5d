#!/usr/bin/env bash
# Makes the files an overlay's secretGenerator reads, in OVERLAY/secrets/ (gitignored, never
# committed): a CA, a certificate and key per service valid as server and client (mutual TLS), an
# operator certificate (ops), and the callers' tokens, of which only the SHA-256 goes to the cluster.
#
#   deploy/kubernetes/make-secrets.sh OVERLAY_DIR [--namespace NS] [--cluster-domain D] [--days N]
#                                     [--pods N] [--name DNS:host|IP:addr ...] [--renew]
#
#   OVERLAY_DIR/secrets/ca.crt              the CA the services trust (in every TLS Secret)
#   OVERLAY_DIR/secrets/ca.key              the CA's key: NOT in the cluster; keep it offline
#   OVERLAY_DIR/secrets/<service>.crt|.key  profiles, products, matching, compensation, ops
#   OVERLAY_DIR/secrets/tokens.json         token hashes and principals (the crm-tokens Secret)
#   OVERLAY_DIR/secrets/tokens.txt          the tokens themselves, mode 600: hand them out, then delete
#
# Each service certificate names what callers connect to: every pod of its StatefulSet
# (<service>-<i>.<service>, with the namespace and the cluster domain, i < --pods, 16 by default,
# which leaves room for more matching replicas and for partitioned profiles), the headless Service,
# localhost and the loopback addresses (the probes call localhost), every --name (an address callers
# outside the cluster use, e.g. DNS:crm-profiles.example.com), and URI:spiffe://brokerage-crm/<service>,
# the name the services map to a principal (certificatePrincipals in base/config/*.json).
#
# Idempotent: existing files are kept. --renew issues new service and ops certificates from the
# same CA (rotation; deploy/README.md says how to roll them out); tokens are never remade (add or
# revoke tokens by editing tokens.json). The namespace defaults to the overlay's `namespace:`.
# Needs openssl.
set -euo pipefail

usage() { sed -n '2,11p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
overlay="$1"; shift
namespace=""; domain="cluster.local"; days=365; renew=0; pods=16; extra=
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace="$2"; shift 2 ;;
    --cluster-domain) domain="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --pods) pods="$2"; shift 2 ;;
    --name) extra+=",$2"; shift 2 ;;
    --renew) renew=1; shift ;;
    *) usage ;;
  esac
done
[ -f "$overlay/kustomization.yaml" ] || { echo "make-secrets: $overlay has no kustomization.yaml" >&2; exit 2; }
if [ -z "$namespace" ]; then
  namespace="$(awk '/^namespace:/ {print $2}' "$overlay/kustomization.yaml")"
fi
[ -n "$namespace" ] || { echo "make-secrets: no --namespace and no namespace: in $overlay/kustomization.yaml" >&2; exit 2; }

dir="$overlay/secrets"
mkdir -p "$dir"
umask 077
services=(profiles products matching compensation)

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  key "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days $((days * 3)) -subj "/O=Brokerage CRM/CN=CRM CA ($namespace)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt" 2>/dev/null
  renew=1
  echo "make-secrets: made a CA in $dir (keep ca.key offline; it is not put in the cluster)"
fi

names_of() {
  local service="$1" names="DNS:localhost,IP:127.0.0.1,IP:::1"
  local suffix
  for suffix in "" ".$namespace" ".$namespace.svc" ".$namespace.svc.$domain"; do
    names+=",DNS:$service$suffix"
  done
  names+=",DNS:*.$service.$namespace.svc.$domain"
  local i
  for ((i = 0; i < pods; i++)); do
    names+=",DNS:$service-$i.$service,DNS:$service-$i.$service.$namespace.svc,DNS:$service-$i.$service.$namespace.svc.$domain"
  done
  printf '%s' "$names$extra"
}

issue() {
  local name="$1" names="$2" work
  work="$(mktemp -d)"
  key "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "/O=Brokerage CRM/CN=$name" -out "$work/$name.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$names,URI:spiffe://brokerage-crm/$name" > "$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -sha256 -days "$days" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
  openssl verify -CAfile "$dir/ca.crt" "$work/$name.crt" >/dev/null
  chmod 644 "$work/$name.crt"
  mv -f "$work/$name.key" "$dir/$name.key"
  mv -f "$work/$name.crt" "$dir/$name.crt"
  rm -rf "$work"
}

made=()
for service in "${services[@]}"; do
  if [ "$renew" = 1 ] || [ ! -s "$dir/$service.crt" ] || [ ! -s "$dir/$service.key" ]; then
    issue "$service" "$(names_of "$service")"
    made+=("$service")
  fi
done
if [ "$renew" = 1 ] || [ ! -s "$dir/ops.crt" ] || [ ! -s "$dir/ops.key" ]; then
  issue ops "DNS:ops"
  made+=(ops)
fi
[ ${#made[@]} -eq 0 ] || echo "make-secrets: issued certificates for ${made[*]} (namespace $namespace, valid $days days)"

if [ ! -s "$dir/tokens.json" ]; then
  # principal name, roles (space-separated): callers that are not services (services use certificates).
  callers=("ops admin" "trading-system ingest" "head-office head-office" "website website" "marketing marketing"
           "hr hr" "product-admin product-admin")
  entries=()
  : > "$dir/tokens.txt"
  for caller in "${callers[@]}"; do
    read -r name roles <<< "$caller"
    token="$(openssl rand -hex 32)"
    hash="$(printf %s "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)"
    printf '%s %s\n' "$name" "$token" >> "$dir/tokens.txt"
    role_list="$(printf '"%s",' $roles)"
    entries+=("  {\"sha256\": \"$hash\", \"principal\": {\"name\": \"$name\", \"roles\": [${role_list%,}], \"attributes\": {}}}")
  done
  {
    echo "["
    for ((i = 0; i < ${#entries[@]}; i++)); do
      if [ $i -lt $((${#entries[@]} - 1)) ]; then echo "${entries[$i]},"; else echo "${entries[$i]}"; fi
    done
    echo "]"
  } > "$dir/tokens.json"
  echo "make-secrets: made tokens for ${#callers[@]} callers: hashes in $dir/tokens.json, the tokens in $dir/tokens.txt (mode 600)"
fi
