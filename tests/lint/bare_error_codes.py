#!/usr/bin/env python3
"""Fails when server/core/ writes a STUN error code as a bare number instead of its RFC name.

Every code is named once in protocol/include/tern/protocol/error_code.hpp (ErrorCode), so a
grep for, say, kAllocationMismatch finds every place that answers 437. Comments may cite
numbers; code may not.
"""
import pathlib
import re
import sys

CODES = "300|400|401|403|405|420|437|438|440|441|442|443|446|447|486|487|500|508"
BARE = re.compile(r"(?<![\w.'])(%s)(?![\w.'])" % CODES)


def strip_comments_and_strings(line):
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    return line.split("//", 1)[0]


def main(root):
    found = []
    for path in sorted((root / "server" / "core").rglob("*.[ch]pp")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = strip_comments_and_strings(line)
            if BARE.search(code):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    for f in found:
        print(f)
    if found:
        print(f"{len(found)} bare STUN error code(s) in server/core/: use protocol::ErrorCode")
        return 1
    print("no bare STUN error codes in server/core/")
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
