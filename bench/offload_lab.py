#!/usr/bin/env python3
"""relay.offload against tern's own user-space path, side by side in one run (needs root).

The namespace lab of tests/offload (client -- tern -- peer over veth pairs). tern runs pinned to
CPU 0, tern_bench to CPU 1 with its client sockets in the client namespace and its echo peer in
the peer namespace. Receive Packet Steering puts the receive processing of tern's two interfaces
on CPU 0 and that of the client's and the peer's on CPU 1, so that CPU 0 does exactly what the
TURN host does (the kernel's receive path, the eBPF program, tern, sending) and CPU 1 what the
two ends do. The figure is relayed packets per CPU-second of CPU 0: elapsed time less CPU 0's
idle time from /proc/stat (measured, unlike its tick-sampled busy fields), which counts user,
system, softirq and irq time alike, whoever it is charged to; in alternating rounds with
relay.offload off and required; ratios per round, medians of them. With --coturn PATH, coturn
(4.17.1 with --multiplex-peer --udp-gso, its best data path) runs the same shapes in the same
place as a third target. Every client has its own echo peer (tern_bench --peers).

With --xdp, tern with relay.offload_hook: xdp is one more target. The veth devices then run their
receive work in NAPI threads (GRO on at the client's and the peer's end, which XDP's redirect
needs there), pinned like the rest: tern's interfaces' to CPU 0, the two ends' to CPU 1, in
every mode of that run, so that CPU 0 still does exactly the TURN host's work.

  bench/offload_lab.py [--rounds 3] [--duration 5] [--shapes rate120,rate1200,audio,high120,high1200]
                       [--coturn PATH] [--xdp] [--out DIR]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "offload"))
import lab as netlab  # noqa: E402

SHAPES = {
    "high120": ["--clients", "8", "--peers", "8", "--size", "120", "--window", "32"],
    "high1200": ["--clients", "8", "--peers", "8", "--size", "1200", "--window", "32"],
    "audio": ["--clients", "100", "--peers", "100", "--rate", "5000", "--size", "120"],
    # The same offered load in both modes, below what either path saturates at: per-packet
    # cost without the batching a saturated CPU gets for free.
    "rate120": ["--clients", "100", "--peers", "100", "--rate", "20000", "--size", "120"],
    "rate1200": ["--clients", "100", "--peers", "100", "--rate", "20000", "--size", "1200"],
}
CONFIG = """
realm: lab.local
workers: 1
state_dir: {state}
listen:
  - {{transport: udp, address: "{listen}", port: 3478}}
relay: {{address: "{relay}", min_port: 50000, max_port: 50999, offload: {mode},
        offload_hook: {hook}, offload_interfaces: [t0, t1]}}
auth: {{users: [{{name: bench, password: bench}}]}}
peers: {{allow: ["10.77.0.0/16"]}}
metrics: {{listen: "127.0.0.1:9641"}}
signaling: {{listen: ""}}
"""


COTURN_CONFIG = """listening-ip={listen}
listening-port=3478
relay-ip={relay}
min-port=50000
max-port=50999
relay-threads=1
lt-cred-mech
user=bench:bench
realm=lab.local
total-quota=0
user-quota=0
no-dtls
no-tls
no-tcp-relay
no-cli
log-file={state}/coturn.log
simple-log
pidfile={state}/coturn.pid
userdb={state}/turndb
"""


def start_coturn(lab, turnserver, state):
    path = os.path.join(state, "coturn.conf")
    with open(path, "w") as f:
        f.write(COTURN_CONFIG.format(listen=netlab.TERN_CLIENT_IP, relay=netlab.TERN_PEER_IP,
                                     state=state))
    proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("t"), "taskset", "-c", "0", turnserver,
                             "-c", path, "--no-stdout-log", "--multiplex-peer", "--udp-gso"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(100):  # until its UDP listener is bound
        ss = lab.exec("t", "ss", "-Hlun", "sport", "= :3478", check=False)
        if ss.stdout.strip():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("coturn did not start (see %s/coturn.log)" % state)


def cpu0_busy(snapshot):
    """(uptime, CPU 0's idle + iowait) in seconds from `cat /proc/stat /proc/uptime`. The busy
    fields of /proc/stat are sampled at ticks and miss short wake-ups; idle time is measured
    (NO_HZ), so busy time is taken as elapsed time minus idle time."""
    idle = None
    for line in snapshot.splitlines():
        if line.startswith("cpu0 "):
            v = [int(x) for x in line.split()[1:]]
            idle = (v[3] + v[4]) / os.sysconf("SC_CLK_TCK")
    uptime = float(snapshot.strip().splitlines()[-1].split()[0])
    if idle is None:
        raise RuntimeError("no cpu0 line in /proc/stat")
    return uptime, idle


def steer_receive(lab):
    for ns, iface, mask in (("t", "t0", 1), ("t", "t1", 1), ("c", "c0", 2), ("p", "p0", 2)):
        lab.exec(ns, "sh", "-c", "echo %x > /sys/class/net/%s/queues/rx-0/rps_cpus" % (mask, iface))


INTERFACES = (("t", "t0", 0), ("t", "t1", 0), ("c", "c0", 1), ("p", "p0", 1))


def threaded_napi(lab, names):
    """NAPI in kernel threads on these veth ends, which must have NAPI (GRO on, or an XDP
    program: tern's attaches it at start, and it goes when tern stops)."""
    for ns, iface, _ in INTERFACES:
        if iface in names:
            lab.exec(ns, "sh", "-c", "echo 1 > /sys/class/net/%s/threaded" % iface)


def pin_napi():
    """Pins each veth end's NAPI thread (napi/<interface>-<id>, made when NAPI starts) to its
    CPU; returns how many it pinned."""
    pinned = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        for _, iface, cpu in INTERFACES:
            if comm.startswith("napi/%s-" % iface):
                os.sched_setaffinity(int(pid), {cpu})
                pinned += 1
    return pinned


def start_tern(lab, tern, mode, state):
    path = os.path.join(state, "tern.yaml")
    with open(path, "w") as f:
        f.write(CONFIG.format(state=state, listen=netlab.TERN_CLIENT_IP, relay=netlab.TERN_PEER_IP,
                              mode="required" if mode == "xdp" else mode,
                              hook="xdp" if mode == "xdp" else "tc"))
    proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("t"), "taskset", "-c", "0", tern,
                             "serve", "--config", path], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if line.startswith("Stop with"):
            return proc, "".join(banner)
    raise RuntimeError("tern did not start:\n" + "".join(banner))


def one_round(lab, args, mode, shape, rnd, out):
    with tempfile.TemporaryDirectory(prefix="tern-offload-bench-") as state:
        if mode == "coturn":
            proc = start_coturn(lab, args.coturn, state)
        else:
            proc, banner = start_tern(lab, args.tern, mode, state)
            if mode == "required" and "relay offload: tc on" not in banner:
                raise RuntimeError("offload did not start:\n" + banner)
            if mode == "xdp" and "relay offload: on t0 (xdp), t1 (xdp)" not in banner:
                raise RuntimeError("offload did not start at XDP:\n" + banner)
        if mode == "xdp":
            threaded_napi(lab, ("t0", "t1"))
        if args.xdp and pin_napi() != (4 if mode == "xdp" else 2):
            raise RuntimeError("not every veth end's NAPI thread was found")
        before, after = os.path.join(state, "before"), os.path.join(state, "after")
        cmd = ["taskset", "-c", "1", args.bench, "--mode", "relay",
               "--server", netlab.TERN_CLIENT_IP + ":3478", "--server-pid", str(proc.pid),
               "--client-netns", lab.ns("c"), "--peer-netns", lab.ns("p"),
               "--peer-ip", netlab.PEER_IP, "--user", "bench", "--password", "bench",
               "--duration", str(args.duration),
               "--before-data", "cat /proc/stat /proc/uptime > " + before,
               "--after-data", "cat /proc/stat /proc/uptime > " + after,
               "--label", mode if mode == "coturn" else "tern-offload-" + mode,
               "--shape", shape, "--round", str(rnd)]
        result = subprocess.run(cmd + SHAPES[shape], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, timeout=args.duration + 120)
        proc.send_signal(signal.SIGTERM if mode == "coturn" else signal.SIGINT)
        proc.wait(15)
        line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
        r = json.loads(line)
        with open(before) as b, open(after) as a:
            (t0, idle0), (t1, idle1) = cpu0_busy(b.read()), cpu0_busy(a.read())
        cpu = max(0.0, (t1 - t0) - (idle1 - idle0))
        r.update(offload=mode, cpu0_busy_s=cpu,
                 relayed_per_cpu0_s=r.get("relayed_packets", 0) / cpu if cpu > 0 else None)
        out.write(json.dumps(r) + "\n")
        out.flush()
        return r


class Rounds:
    """One shape's runs, a dict of mode -> result per round: medians over the rounds."""

    def __init__(self, pairs):
        self.pairs = pairs

    @staticmethod
    def per_cpu(r):
        return r["relayed_per_cpu0_s"] or 0.0

    def median(self, mode, f=None):
        f = f or self.per_cpu
        return statistics.median(f(p[mode]) for p in self.pairs)

    def ratio(self, a, b):
        """The median of the per-round ratios of relayed packets per CPU-second."""
        return statistics.median(self.per_cpu(p[a]) / self.per_cpu(p[b]) for p in self.pairs
                                 if self.per_cpu(p[b]) > 0)

    def rtt(self, mode, q):
        return self.median(mode, lambda r: r.get("rtt_us", {}).get(q, 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--shapes", default="rate120,rate1200,audio,high120,high1200")
    ap.add_argument("--tern", default=os.path.join(ROOT, "build/release/server/app/tern"))
    ap.add_argument("--bench", default=os.path.join(ROOT, "build/release/bench/tern_bench"))
    ap.add_argument("--coturn", help="coturn 4.17.1's turnserver: a third target, at its best "
                    "(--multiplex-peer --udp-gso)")
    ap.add_argument("--xdp", action="store_true", help="tern at XDP too (relay.offload_hook: xdp)")
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="tern-offload-bench-"))
    args = ap.parse_args()
    reason = netlab.why_not()
    if reason:
        print("offload_lab: skipped:", reason)
        return 77
    os.makedirs(args.out, exist_ok=True)
    lab = netlab.Lab().build()
    steer_receive(lab)
    if args.xdp:
        lab.gro(True)
        threaded_napi(lab, ("c0", "p0"))
    rows = {}
    with open(os.path.join(args.out, "results.jsonl"), "w") as out:
        for rnd in range(1, args.rounds + 1):
            for shape in args.shapes.split(","):
                modes = ("off", "required") + (("xdp",) if args.xdp else ()) + \
                    (("coturn",) if args.coturn else ())
                if rnd % 2 == 0:
                    modes = modes[::-1]
                for mode in modes:
                    r = one_round(lab, args, mode, shape, rnd, out)
                    rows.setdefault((shape, rnd), {})[mode] = r
                    print("round %d %-8s %-8s relayed %8d  CPU0 %.2f s  %s pkt/CPU0-s  loss %.4f"
                          "  p50 %s us  p99 %s us" % (
                              rnd, shape, mode, r.get("relayed_packets", 0), r["cpu0_busy_s"],
                              "%.0f" % r["relayed_per_cpu0_s"] if r["relayed_per_cpu0_s"] else "-",
                              r.get("loss_ratio", 1), r.get("rtt_us", {}).get("p50"),
                              r.get("rtt_us", {}).get("p99")), flush=True)
    coturn = bool(args.coturn)
    print("\n| shape | off pkt/CPU0-s | offload pkt/CPU0-s | ratio (median of rounds) | "
          "p50 off / on (us) | p99 off / on (us) |"
          + (" coturn best pkt/CPU0-s | offload / coturn | off / coturn | p50 / p99 coturn (us) |"
             if coturn else ""))
    print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|---:|" if coturn else ""))
    summary = {}
    for shape in args.shapes.split(","):
        runs = Rounds([rows[(shape, r)] for r in range(1, args.rounds + 1)])
        rtt = runs.rtt
        ratio = runs.ratio("required", "off")
        summary[shape] = {"off": runs.median("off"), "offload": runs.median("required"),
                          "ratio": ratio}
        line = "| %s | %.0f | %.0f | %.2fx | %.0f / %.0f | %.0f / %.0f |" % (
            shape, summary[shape]["off"], summary[shape]["offload"], ratio, rtt("off", "p50"),
            rtt("required", "p50"), rtt("off", "p99"), rtt("required", "p99"))
        if coturn:
            summary[shape].update(coturn=runs.median("coturn"),
                                  offload_vs_coturn=runs.ratio("required", "coturn"),
                                  off_vs_coturn=runs.ratio("off", "coturn"))
            line += " %.0f | %.2fx | %.2fx | %.0f / %.0f |" % (
                summary[shape]["coturn"], summary[shape]["offload_vs_coturn"],
                summary[shape]["off_vs_coturn"], rtt("coturn", "p50"), rtt("coturn", "p99"))
        print(line)
    if args.xdp:
        print("\n| shape | tc pkt/CPU0-s | xdp pkt/CPU0-s | xdp / tc | xdp / off | "
              "p50 / p99 tc (us) | p50 / p99 xdp (us) |\n|---|---:|---:|---:|---:|---:|---:|")
        for shape in args.shapes.split(","):
            runs = Rounds([rows[(shape, r)] for r in range(1, args.rounds + 1)])
            rtt = runs.rtt
            summary[shape].update(xdp=runs.median("xdp"), xdp_vs_tc=runs.ratio("xdp", "required"),
                                  xdp_vs_off=runs.ratio("xdp", "off"))
            print("| %s | %.0f | %.0f | %.2fx | %.2fx | %.0f / %.0f | %.0f / %.0f |" % (
                shape, summary[shape]["offload"], summary[shape]["xdp"],
                summary[shape]["xdp_vs_tc"], summary[shape]["xdp_vs_off"], rtt("required", "p50"),
                rtt("required", "p99"), rtt("xdp", "p50"), rtt("xdp", "p99")))
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print("\nresults in", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
