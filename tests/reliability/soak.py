#!/usr/bin/env python3
"""Soak: tern under a realistic mix for a given time, sampled every few seconds. Fails on any
relayed loss, on RSS or file-descriptor growth after warm-up beyond a stated tolerance, or on an
allocation that outlives its lifetime. docs/reliability.md has the figures of the one-hour run.

  tests/reliability/soak.py --duration 120 --scale 0.25     # what .ci/run does
  tests/reliability/soak.py --duration 3600 --scale 1       # the documented run

The mix, at --scale 1 (client->server messages per second; every one is echoed by the peer):
audio-like ChannelData, larger ChannelData, Send indications, TCP and TLS clients (tern_bench,
restarted every --segment seconds, so allocations start and end all the time); REST allocations
minted by `tern credentials` starting and ending every second, a fifth of them abandoned to
expire; a config reload and a REST secret rotation every --rotate seconds; `tern status`,
`tern sessions list` and a /metrics scrape at every sample."""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import stun_client as sc  # noqa: E402
import turn_client as tc  # noqa: E402
from harness import TERN, Tern  # noqa: E402

LOADS = [  # name, tern_bench arguments, client->server messages/s at scale 1
    ("audio", "--mode relay --clients 100 --size 120", 5000),
    ("bulk", "--mode relay --clients 20 --size 1000", 30000),
    ("send", "--mode relay --send --clients 20 --size 200", 2000),
    ("tcp", "--mode relay --transport tcp --clients 20 --size 120", 4000),
    ("tls", "--mode relay --transport tls --clients 20 --size 120", 4000),
]
LIFETIME = 90  # limits.max_allocation_lifetime here: abandoned allocations must be gone by then
RSS_TOLERANCE = (0.10, 4096)  # growth after warm-up: 10 % plus 4 MiB
FD_TOLERANCE = 16  # descriptors beyond one per allocation, median after warm-up vs median during it

CONFIG = """
relay: {address: 127.0.0.1, min_port: 22000, max_port: 32767}
auth:
  users: [{name: bench, password: bench}]
  secrets_file: %s
limits: {max_allocation_lifetime: %ds}
peers: {allow: ["127.0.0.2/32"]}
signaling: {listen: ""}
"""


class Soak:
    def __init__(self, args):
        self.args = args
        self.deadline = None
        self.lock = threading.Lock()
        self.failures = []
        # Kernel drops as tern_bench reads them (its own sockets, tern's, all UDP receive
        # buffers), so that a loss can be told apart: a full buffer or tern.
        self.bench = {name: {"runs": 0, "sent": 0, "received": 0, "lost": 0, "errors": 0,
                             "tool_socket_drops": 0, "server_socket_drops": 0,
                             "server_listener_drops": 0, "server_relay_drops": 0,
                             "udp_rcvbuf_errors": 0}
                      for name, _, _ in LOADS}
        self.samples = []
        self.churn = {"allocated": 0, "deleted": 0, "abandoned": 0, "refused": 0}
        self.abandoned = {}  # username -> monotonic time it was abandoned
        self.rotations = 0
        self.reloads = 0

    def fail(self, what):
        with self.lock:
            self.failures.append(what)
        print("# FAIL: " + what, flush=True)

    def admin(self, *args, stdin=None):
        code, body, err = self.tern.admin(*args, stdin=stdin)
        if code != 0:
            self.fail("tern %s: exit %d: %s" % (" ".join(args), code, err.strip()))
        return body

    def left(self):
        return self.deadline - time.monotonic()

    # One load: tern_bench runs of --segment seconds back to back until the deadline.
    def run_load(self, name, args, rate):
        host, port = self.tern.addr("tls" if "tls" in args else "tcp" if "tcp" in args else "udp")
        while self.left() > 3:
            seconds = min(self.args.segment, self.left() - 2)
            cmd = [self.args.bench, "--server", "%s:%d" % (host, port), *args.split(),
                   "--rate", str(max(1, int(rate * self.args.scale))), "--duration", "%.1f" % seconds]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=seconds + 120)
            stats = self.bench[name]
            stats["runs"] += 1
            try:
                out = json.loads(p.stdout)
            except ValueError:
                out = None
            if p.returncode != 0 or out is None:
                stats["errors"] += 1
                self.fail("%s: tern_bench exit %d: %s" % (name, p.returncode, p.stderr.strip()[-300:]))
                continue
            for key in ("sent", "received", "lost", "tool_socket_drops", "server_socket_drops",
                        "server_listener_drops", "server_relay_drops", "udp_rcvbuf_errors"):
                stats[key] += out.get(key) or 0

    # REST allocations that start and end every second; one in five is abandoned.
    def run_churn(self):
        held = []
        # An abandoned client keeps its socket until its allocation has expired: closed at
        # once, the kernel could hand its port to the next client, whose Allocate then meets
        # the live allocation of that 5-tuple and rightly gets 437.
        parked = []
        n = 0
        while self.left() > 0:
            n += 1
            cred = self.admin("credentials", "--user", "churn-%d" % n, "--ttl", "10m")
            if cred:
                c = tc.TurnClient(self.tern.addr("udp"), cred["username"], cred["credential"],
                                  realm="test.local")
                mtype, _, attrs = c.allocate()
                if mtype == 0x0103:
                    self.churn["allocated"] += 1
                    held.append((time.monotonic() + random.uniform(1, 10), c))
                else:
                    self.churn["refused"] += 1
                    self.fail("churn allocation %d: %s" % (n, tc.error_code(attrs) if attrs else "no answer"))
                    c.close()
            now = time.monotonic()
            for end, c in [h for h in held if h[0] <= now]:
                held.remove((end, c))
                if random.random() < 0.2:
                    with self.lock:
                        self.abandoned[c.user] = now
                    self.churn["abandoned"] += 1
                    parked.append((now + LIFETIME + 5, c))
                    continue
                else:
                    mtype, _, attrs = c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
                    if mtype != 0x0104:
                        self.fail("churn delete of %s: %r" % (c.user, attrs))
                    self.churn["deleted"] += 1
                c.close()
            for end, c in [p for p in parked if p[0] <= now]:
                parked.remove((end, c))
                c.close()
            time.sleep(max(0.0, 1 - (time.monotonic() - now)))
        for _, c in parked:
            c.close()
        for _, c in held:
            c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
            c.close()

    # A reload and a secret rotation (add, promote, remove the oldest of three) every --rotate s.
    def run_rotation(self):
        n = 0
        while self.left() > self.args.rotate / 2:
            time.sleep(min(self.args.rotate / 2, max(0, self.left())))
            n += 1
            if n % 2:
                self.admin("reload")
                self.reloads += 1
                continue
            before = {s["fingerprint"] for s in (self.admin("secrets", "list") or {}).get("secrets", [])}
            self.admin("secrets", "add", stdin="soak-secret-%d-%s\n" % (n, os.urandom(8).hex()))
            after = (self.admin("secrets", "list") or {}).get("secrets", [])
            new = [s["fingerprint"] for s in after if s["fingerprint"] not in before]
            if new:
                self.admin("secrets", "promote", new[0])
            if len(after) > 2:
                oldest = [s["fingerprint"] for s in after if not s["signs"] and s["fingerprint"] not in new]
                self.admin("secrets", "remove", oldest[0])
            self.rotations += 1

    def sample(self, start):
        pid = self.tern.proc.pid
        with open("/proc/%d/status" % pid) as f:
            rss = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        relayed = self.tern.metric("tern_relayed_packets_total", 'direction="sent"')
        status = self.admin("status") or {}
        sessions = (self.admin("sessions", "list") or {}).get("sessions", [])
        now = time.monotonic()
        for s in sessions:
            if not 0 <= s["expires_in_seconds"] <= LIFETIME:
                self.fail("allocation of %s expires in %d s (lifetime %d s)" % (s["user"], s["expires_in_seconds"], LIFETIME))
        with self.lock:
            overdue = [u for u, t in self.abandoned.items() if now - t > LIFETIME + 3]
        late = [s["user"] for s in sessions if s["user"] in overdue]
        if late:
            self.fail("abandoned allocations outlived their lifetime: %s" % late)
        self.samples.append({"t": round(now - start, 1), "rss_kib": rss, "fds": fds, "cpu_s": cpu,
                             "relayed": relayed, "allocations": status.get("allocations", len(sessions))})
        print("# t=%5.0f s  rss %6d KiB  fds %4d  allocations %4d  relayed %10d  cpu %.1f s"
              % (now - start, rss, fds, self.samples[-1]["allocations"], relayed, cpu), flush=True)

    def check_growth(self):
        warm = max(30, self.args.duration * 0.2)
        first = [s for s in self.samples if s["t"] <= warm]
        last = [s for s in self.samples if s["t"] >= self.args.duration * 0.75]
        if not first or not last:
            self.fail("too few samples to judge growth")
            return {}
        rss0, rss1 = max(s["rss_kib"] for s in first), max(s["rss_kib"] for s in last)
        # Each live allocation holds a relay socket: descriptors beyond those are what may not
        # grow. Medians, so a sample taken while a load restarts (connections open, allocations
        # not yet made) is not mistaken for a leak.
        fd0 = statistics.median(s["fds"] - s["allocations"] for s in first)
        fd1 = statistics.median(s["fds"] - s["allocations"] for s in last)
        if rss1 > rss0 * (1 + RSS_TOLERANCE[0]) + RSS_TOLERANCE[1]:
            self.fail("RSS grew after warm-up: %d KiB -> %d KiB" % (rss0, rss1))
        if fd1 > fd0 + FD_TOLERANCE:
            self.fail("file descriptors beyond one per allocation grew after warm-up: %d -> %d" % (fd0, fd1))
        return {"rss_warm_kib": rss0, "rss_end_kib": rss1, "fds_beyond_allocations_warm": fd0,
                "fds_beyond_allocations_end": fd1}

    def cpu_per_packet(self, lo, hi):
        window = [s for s in self.samples if lo <= s["t"] <= hi]
        if len(window) < 2 or window[-1]["relayed"] <= window[0]["relayed"]:
            return None
        return (window[-1]["cpu_s"] - window[0]["cpu_s"]) / (window[-1]["relayed"] - window[0]["relayed"]) * 1e6

    def run(self):
        state = self.args.workdir
        secrets = os.path.join(state, "secrets")
        with open(secrets, "w") as f:
            f.write("soak-secret-0-%s\n" % os.urandom(8).hex())
        with Tern(CONFIG % (secrets, LIFETIME)) as self.tern:
            start = time.monotonic()
            self.deadline = start + self.args.duration
            threads = [threading.Thread(target=self.run_load, args=load, daemon=True) for load in LOADS]
            threads += [threading.Thread(target=self.run_churn, daemon=True),
                        threading.Thread(target=self.run_rotation, daemon=True)]
            for t in threads:
                t.start()
            while self.left() > 0:
                self.sample(start)
                time.sleep(min(self.args.every, max(0, self.left())))
            for t in threads:
                t.join(timeout=180)
                if t.is_alive():
                    self.fail("a load thread did not end")
            self.sample(start)
            growth = self.check_growth()
            if not self.tern.alive():
                self.fail("tern exited during the soak")
        return self.report(growth)

    def report(self, growth):
        total = {k: sum(b[k] for b in self.bench.values()) for k in ("sent", "received", "lost")}
        if total["lost"] > 0:
            self.fail("relayed loss: %d of %d messages" % (total["lost"], total["sent"]))
        if total["sent"] == 0:
            self.fail("no traffic was relayed")
        d = self.args.duration
        summary = {"duration_s": d, "scale": self.args.scale, "bench": self.bench, "total": total,
                   "churn": self.churn, "rotations": self.rotations, "reloads": self.reloads,
                   "growth": growth, "samples": len(self.samples),
                   "cpu_us_per_relayed_packet": {"after_warm_up": self.cpu_per_packet(max(30, d * 0.2), d * 0.5),
                                                 "last_half": self.cpu_per_packet(d * 0.5, d + 60)},
                   "max_allocations": max((s["allocations"] for s in self.samples), default=0),
                   "failures": self.failures}
        print(json.dumps(summary, indent=1))
        return not self.failures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    p.add_argument("--scale", type=float, default=0.25, help="multiplies every load's rate (default 0.25)")
    p.add_argument("--segment", type=float, default=30, help="seconds per tern_bench run (default 30)")
    p.add_argument("--rotate", type=float, default=60, help="seconds between secret rotations (default 60)")
    p.add_argument("--every", type=float, default=5, help="seconds between samples (default 5)")
    p.add_argument("--bench", default=os.environ.get("TERN_BENCH_BINARY", "tern_bench"))
    args = p.parse_args()
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tern-soak-") as args.workdir:
        print("# soak: %s for %.0f s at scale %.2f, tern_bench %s" % (TERN, args.duration, args.scale, args.bench), flush=True)
        ok = Soak(args).run()
    print("# soak %s" % ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
