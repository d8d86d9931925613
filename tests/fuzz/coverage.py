#!/usr/bin/env python3
"""Sums libFuzzer's -print_coverage=1 report (read on stdin) over tern's own sources: edges and
functions reached per directory, so each fuzz run in .ci/run says what its corpus covers.

  build/fuzz/tests/fuzz/fuzz_core -runs=0 -print_coverage=1 CORPUS 2>&1 | tests/fuzz/coverage.py
"""
import collections
import re
import sys

LINE = re.compile(r"^(COVERED|UNCOVERED)_FUNC: hits: \d+ edges: (\d+)/(\d+) .* (\S+):\d+$")
OURS = re.compile(r"/(protocol|auth|server/\w+|metrics)/(?:src/|include/)?")


def main():
    per_dir = collections.defaultdict(lambda: [0, 0, 0, 0])  # edges hit, edges, funcs hit, funcs
    for line in sys.stdin:
        m = LINE.match(line.strip())
        if not m or "/tests/" in m.group(4):
            continue
        where = OURS.search(m.group(4))
        if not where:
            continue
        d = per_dir[where.group(1)]
        d[0] += int(m.group(2))
        d[1] += int(m.group(3))
        d[2] += m.group(1) == "COVERED"
        d[3] += 1
    if not per_dir:
        print("coverage: no report (is the target built with -fsanitize=fuzzer?)")
        return 1
    total = [sum(d[i] for d in per_dir.values()) for i in range(4)]
    for name, d in sorted(per_dir.items()) + [("all of tern", total)]:
        print("coverage %-14s edges %5d/%-5d (%3.0f %%)  functions %4d/%-4d"
              % (name, d[0], d[1], 100 * d[0] / max(1, d[1]), d[2], d[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
