#!/usr/bin/env bash
# Runs `swift test --skip-build` (arguments are passed on) and turns a hang into a failure that says
# where it hangs. A whole run takes about 5 minutes on a 2-core machine; if it has not ended after
# TEST_WATCHDOG_SECONDS (default 2400, eight times that), the watchdog prints the tests that started and
# did not end, the test process's threads (gdb, when installed), and kills it, so CI fails with a
# diagnosis instead of running out its own time limit silently.
#
# Output is line-buffered (stdbuf), so what the log holds at that moment is everything the tests printed.
set -uo pipefail
cd "$(dirname "$0")/.."

limit=${TEST_WATCHDOG_SECONDS:-2400}
log=$(mktemp -t swift-test-XXXXXX.log)

stdbuf -oL -eL swift test --skip-build "$@" > >(tee "$log") 2>&1 &
runner=$!

# The test process and everything it started (services it runs as processes, and theirs).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" || true); do kill_tree "$child"; done
  kill -9 "$1" 2>/dev/null || true
}

# Every process below $1.
descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do echo "$child"; descendants "$child"; done
}

started=$(date +%s)
while kill -0 "$runner" 2>/dev/null; do
  if (( $(date +%s) - started > limit )); then
    echo
    echo "== watchdog: the tests have not ended after ${limit} s"
    echo "-- tests started and not ended:"
    python3 scripts/unfinished-tests.py "$log"
    for pid in $(descendants "$runner"); do
      grep -q 'PackageTests.xctest' "/proc/$pid/cmdline" 2>/dev/null || continue
      if command -v gdb > /dev/null; then
        echo "-- threads of the test process $pid (identical stacks grouped):"
        gdb -p "$pid" -batch -ex "thread apply all bt 40" 2>/dev/null | python3 scripts/unfinished-tests.py --threads
      fi
      kill_tree "$pid"
    done
    wait "$runner" 2>/dev/null
    exit 1
  fi
  sleep 5
done
wait "$runner"
