#!/usr/bin/env python3
"""TURN probes for the fleet lab, run from the test process on the lab's internet.

  fleet_probe.py allocate SERVER USER PASSWORD [--keep SECONDS]
      Allocate (REST credentials) on SERVER (IP:PORT). Prints {"code": 200|N, "relayed": "IP:PORT",
      "alternate": "IP:PORT"}. With --keep, holds the allocation SECONDS, refreshing it once a
      second, and then prints {"refreshes": [codes...]} before deleting it.
"""
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import stun_client as sc  # noqa: E402
import turn_client as tc  # noqa: E402


def plain_address(value):
    family, port = value[1], struct.unpack("!H", value[2:4])[0]
    ip = socket.inet_ntop(socket.AF_INET if family == 1 else socket.AF_INET6, value[4:])
    return "%s:%d" % (ip, port)


def main():
    _, server, user, password = sys.argv[1:5]
    ip, port = server.rsplit(":", 1)
    c = tc.TurnClient((ip, int(port)), user, password, realm="netlab.example", local="0.0.0.0")
    mtype, tid, attrs = c.allocate()
    out = {"code": None}
    if mtype == 0x0103:
        out["code"] = 200
        out["relayed"] = "%s:%d" % sc.xor_address(sc.find(attrs, 0x0016), tid)
    elif attrs is not None:
        out["code"] = tc.error_code(attrs)
        alt = sc.find(attrs, 0x8023)
        if alt is not None:
            out["alternate"] = plain_address(alt)
    print(json.dumps(out), flush=True)
    if out["code"] == 200 and "--keep" in sys.argv:
        seconds = float(sys.argv[sys.argv.index("--keep") + 1])
        codes = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            time.sleep(1)
            rtype, _, rattrs = c.request(tc.REFRESH, sc.attr(0x000D, struct.pack("!I", 600)))
            codes.append(200 if rtype == 0x0104 else tc.error_code(rattrs or []))
        print(json.dumps({"refreshes": codes}), flush=True)
    if out["code"] == 200:
        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
