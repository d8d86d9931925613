#!/usr/bin/env python3
"""Runs coturn's own load client (turnutils_uclient) against one server through turnutils_peer
and prints one JSON line like tern_bench's: relayed packets per server CPU-second, loss, RTT.

The server relays each message twice (client > peer, peer > client), so relayed packets are
tot_send_msgs + tot_recv_msgs as uclient counts them. Server CPU is utime+stime of --server-pid
(and its threads) from /proc over the whole uclient run, allocation set-up included.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True, help="IP:PORT of the TURN server (UDP)")
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--peer", required=True, help="IP:PORT of turnutils_peer")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--messages", type=int, default=500, help="per client")
    ap.add_argument("--size", type=int, default=120)
    ap.add_argument("--interval-ms", type=int, default=20)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="bench")
    ap.add_argument("--label", default="")
    ap.add_argument("--shape", default="")
    ap.add_argument("--round", type=int, default=1)
    ap.add_argument("--uclient", default="turnutils_uclient", help="the turnutils_uclient to run")
    a = ap.parse_args()
    ip, port = a.server.rsplit(":", 1)
    peer_ip, peer_port = a.peer.rsplit(":", 1)
    cmd = [a.uclient, "-c", "-u", a.user, "-w", a.password, "-p", port,
           "-m", str(a.clients), "-n", str(a.messages), "-l", str(a.size), "-z", str(a.interval_ms),
           "-e", peer_ip, "-r", peer_port, ip]
    limit = 60 + a.messages * a.interval_ms / 1000 * 3
    cpu0, t0 = cpu_seconds(a.server_pid), time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=limit)
        out, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), 124
    cpu1, t1 = cpu_seconds(a.server_pid), time.monotonic()
    sent_recv = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
    lost = re.findall(r"Total lost packets (\d+)", out)
    rtt = re.findall(r"Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms", out)
    result = {"tool": "turnutils_uclient", "mode": "relay", "label": a.label, "shape": a.shape,
              "round": a.round, "clients": a.clients, "size": a.size,
              "rate_offered": a.clients * 1000 / a.interval_ms, "wall_s": t1 - t0,
              "server_cpu_s": cpu1 - cpu0}
    if not sent_recv:
        result.update(ok=False, error="no totals from turnutils_uclient (exit %d): %s" %
                      (rc, out[-400:].replace("\n", " | ")))
        print(json.dumps(result))
        return 1
    sent, recv = map(int, sent_recv[-1])
    result.update(ok=True, sent=sent, received=recv, relayed_packets=sent + recv,
                  loss_ratio=(sent - recv) / sent if sent else None,
                  lost_reported=int(lost[-1]) if lost else None,
                  server_cpu_util=(cpu1 - cpu0) / (t1 - t0))
    if rtt:
        result["rtt_ms_avg"] = float(rtt[-1][0])
    if cpu1 > cpu0:
        result["relayed_per_cpu_s"] = (sent + recv) / (cpu1 - cpu0)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
