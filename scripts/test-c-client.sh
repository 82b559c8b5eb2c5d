#!/usr/bin/env bash
# Builds the C client (clients/c) and runs its tests and its feeder example under valgrind against a
# real profiles service started here: fresh store in a temporary folder, the dev config, a free port,
# TLS with development certificates made in that folder (scripts/dev-certs.sh; a second, foreign CA
# for the refusal cases).
# The service is stopped with SIGTERM and the folder removed however this script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

make -C clients/c

if [ ! -x .build/debug/crm-profiles ]; then
  swift build --product crm-profiles
fi

tmp="$(mktemp -d)"
pid=""
stop_service() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "profiles did not stop within 15 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
  pid=""
}
cleanup() {
  stop_service
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/dev-certs.sh "$tmp/certs" >/dev/null
scripts/dev-certs.sh "$tmp/other" >/dev/null

.build/debug/crm-profiles --port 0 --port-file "$tmp/port" --database "$tmp/p.sqlite" \
  --config services/profiles/config.json \
  --tls-certificate "$tmp/certs/profiles.crt" --tls-key "$tmp/certs/profiles.key" --tls-ca "$tmp/certs/ca.crt" \
  >"$tmp/profiles.log" 2>&1 &
pid=$!

port=""
for _ in $(seq 300); do   # at most 30 s
  if [ -s "$tmp/port" ]; then
    port="$(tr -d '[:space:]' <"$tmp/port")"
    [[ "$port" =~ ^[0-9]+$ ]] && break
    port=""
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "profiles did not write its port file; its log:" >&2
  cat "$tmp/profiles.log" >&2
  exit 1
fi
echo "profiles listening on 127.0.0.1:$port with TLS (pid $pid)"

vg=(valgrind --leak-check=full --error-exitcode=3 --errors-for-leak-kinds=definite,indirect)

# run_valgrind NAME COMMAND...: runs under valgrind, shows valgrind's summary (its whole log on failure).
run_valgrind() {
  local name="$1"; shift
  local log="$tmp/valgrind-$name.log" status=0
  "${vg[@]}" --log-file="$log" "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "$name failed (exit $status; 3 = valgrind found errors)" >&2
    return "$status"
  fi
  echo "valgrind ($name): $(grep -h -o 'ERROR SUMMARY: [0-9]* errors' "$log" | head -n1);" \
    "$(grep -h -o 'in use at exit: .*' "$log" | head -n1)"
}

echo "== C client tests"
run_valgrind test_client clients/c/build/test_client "$port" "$tmp/certs" "$tmp/other/ca.crt"

echo "== feeder example"
CRM_TOKEN=dev-admin-token CRM_TLS_CA="$tmp/certs/ca.crt" run_valgrind feeder clients/c/build/feeder 127.0.0.1 "$port"

stop_service
echo "C client: all passed"
