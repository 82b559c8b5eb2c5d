#!/usr/bin/env python3
"""Reads what a hung `swift test` left behind, for scripts/watched-swift-test.sh.

    unfinished-tests.py LOG       the Swift Testing tests (and XCTest cases) that started and did not end
    unfinished-tests.py --threads gdb's `thread apply all bt` on stdin, demangled, identical stacks grouped

Both are kept short: CI shows only the end of a run's output.
"""
import collections
import re
import shutil
import subprocess
import sys


def unfinished(log_path):
    open_tests = collections.Counter()
    order = []
    # Swift Testing: "◇ Test f(x:) started." and "✔ Test f(x:) with 8 test cases passed after …"
    # (test cases and the run itself are left out: a test names the hang well enough).
    started = re.compile(r"^◇ (Test) (?!case |run)(.+?) started\.$")
    ended = re.compile(r"^[✔✘➜] (Test) (?!case |run)(.+?)(?: with \d+ test cases?)? (passed|failed|skipped)")
    xc_started = re.compile(r"^Test Case '(.+)' started")
    xc_ended = re.compile(r"^Test Case '(.+)' (passed|failed|skipped)")
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            if m := started.match(line):
                key = f"{m.group(1)} {m.group(2)}"
            elif m := xc_started.match(line):
                key = f"XCTest {m.group(1)}"
            else:
                key = None
            if key is not None:
                if open_tests[key] == 0:
                    order.append(key)
                open_tests[key] += 1
                continue
            if m := ended.match(line):
                key = f"{m.group(1)} {m.group(2)}"
            elif m := xc_ended.match(line):
                key = f"XCTest {m.group(1)}"
            else:
                continue
            if open_tests[key] > 0:
                open_tests[key] -= 1
    still = [key for key in order if open_tests[key] > 0]
    for key in still:
        print(f"   {key}")
    if not still:
        print("   (none: every test that started has ended; the hang is outside the tests, e.g. at exit)")


def threads():
    text = sys.stdin.read()
    demangler = shutil.which("swift-demangle")
    if demangler:
        text = subprocess.run([demangler, "--simplified"], input=text, capture_output=True, text=True).stdout
    stacks = collections.Counter()
    current = []
    frame = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(.+?)(?: \(.*)?$")

    def flush():
        if current:
            stacks[tuple(current[:14])] += 1

    for line in text.splitlines():
        if line.startswith("Thread "):
            flush()
            current = []
        elif m := frame.match(line):
            current.append(m.group(1)[:150])
    flush()
    for stack, count in stacks.most_common():
        print(f"   {count} thread(s):")
        for name in stack:
            print(f"      {name}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--threads":
        threads()
    elif len(sys.argv) == 2:
        unfinished(sys.argv[1])
    else:
        sys.exit(__doc__)
