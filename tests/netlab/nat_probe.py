#!/usr/bin/env python3
"""NAT probes run inside a lab namespace (ip netns exec): what a NAT maps one local port to.

  nat_probe.py mapped PORT SERVER...   Binding requests from local PORT to each SERVER (IP:PORT);
                                       prints {"mapped": ["IP:PORT", ...]} in order.
  nat_probe.py listen PORT SERVER SECS Learns PORT's mapping towards SERVER, prints it as
                                       {"mapped": "IP:PORT"}, then waits SECS for datagrams from
                                       anyone but SERVER; prints {"stray": [["IP:PORT", N], ...]}.
  nat_probe.py send IP:PORT N          Sends N datagrams to IP:PORT from a fresh socket.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import stun_client as sc  # noqa: E402


def addr(text):
    ip, port = text.rsplit(":", 1)
    return ip, int(port)


def binding(sock, server):
    payload, tid = sc.binding_request()
    for _ in range(3):
        sock.sendto(payload, server)
        sock.settimeout(1.0)
        try:
            while True:
                data, frm = sock.recvfrom(2048)
                if frm != server:
                    continue
                mtype, rtid, attrs, _ = sc.parse(data)
                if rtid == tid:
                    return "%s:%d" % sc.xor_address(sc.find(attrs, 0x0020), tid)
        except socket.timeout:
            continue
    return None


def main():
    mode = sys.argv[1]
    if mode == "send":
        dest, n = addr(sys.argv[2]), int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(n):
            s.sendto(b"stray %d" % i, dest)
            time.sleep(0.01)
        print(json.dumps({"sent": n}))
        return 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    if mode == "mapped":
        print(json.dumps({"mapped": [binding(s, addr(x)) for x in sys.argv[3:]]}), flush=True)
        return 0
    server, secs = addr(sys.argv[3]), float(sys.argv[4])
    print(json.dumps({"mapped": binding(s, server)}), flush=True)
    stray = {}
    deadline = time.time() + secs
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            _, frm = s.recvfrom(2048)
        except socket.timeout:
            break
        if frm != server:
            key = "%s:%d" % frm
            stray[key] = stray.get(key, 0) + 1
    print(json.dumps({"stray": sorted(stray.items())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
