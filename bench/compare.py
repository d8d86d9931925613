#!/usr/bin/env python3
"""Summarises bench/side_by_side.sh results: medians over rounds per target and shape, the
tern/coturn and tern/forwarder ratios, and each issue-7 target with its verdict. Prints
Markdown (and writes JSON). Input: JSON lines from tern_bench with a "target" field."""
import argparse
import json
import statistics
import sys

# Shapes and the numbers read from each (dotted paths into one tern_bench JSON object).
METRICS = {
    "audio": ["relayed_per_cpu_s", "loss_ratio", "rtt_us.p50", "rtt_us.p99", "server_cpu_util"],
    "audiodef": ["relayed_per_cpu_s", "loss_ratio", "server_cpu_util", "server_cpu_s"],
    "tcp120": ["relayed_per_cpu_s", "relayed_pps", "loss_ratio"],
    "tls120": ["relayed_per_cpu_s", "relayed_pps", "loss_ratio"],
    "high120": ["relayed_per_cpu_s", "relayed_pps", "loss_ratio", "server_cpu_util"],
    "high1200": ["relayed_per_cpu_s", "relayed_pps", "loss_ratio", "server_cpu_util"],
    "load50k": ["loss_ratio", "offered_rate_achieved", "relayed_per_cpu_s", "rtt_us.p99"],
    "load100k": ["loss_ratio", "offered_rate_achieved", "relayed_per_cpu_s", "rtt_us.p99"],
    "allocate": ["cpu_us_per_allocation", "allocations_per_cpu_s", "allocations_per_s",
                 "allocate_us.p99", "allocate_signed_us.p99"],
    "alloc64def": ["allocations_per_s", "allocate_us.p50", "allocate_us.p99", "retransmits",
                   "failed"],
    "alloc256def": ["allocations_per_s", "allocate_us.p50", "allocate_us.p99", "retransmits",
                    "failed"],
    "binding": ["responses_per_cpu_s", "responses_per_s", "rtt_us.p99"],
    "idle1k": ["rss_bytes_per_allocation", "allocations"],
    "idle10k": ["rss_bytes_per_allocation", "allocations"],
    "idletcp1k": ["rss_bytes_per_allocation", "allocations"],
    "callgrind120": ["instructions_per_packet", "relayed_packets"],
    # As many allocations with a channel as the descriptor limit allows (100k wanted), 1 % of
    # them active at audio rates, then Allocate dances while they are held.
    "scale": ["allocations", "rss_bytes_per_allocation", "active.relayed_per_cpu_s",
              "active.loss_ratio", "active.rtt_us.p50", "active.rtt_us.p99",
              "hold_allocate.allocations_per_s", "hold_allocate.cpu_us_per_allocation",
              "hold_allocate.allocate_us.p99", "setup_allocations_per_s"],
}
# The number a run must produce to count (smoke check).
PRIMARY = {
    "audio": "relayed_per_cpu_s", "audiodef": "relayed_per_cpu_s", "high120": "relayed_per_cpu_s", "high1200": "relayed_per_cpu_s",
    "tcp120": "relayed_per_cpu_s", "tls120": "relayed_per_cpu_s",
    "load50k": "loss_ratio", "load100k": "loss_ratio", "allocate": "cpu_us_per_allocation",
    "alloc64def": "allocations_per_s", "alloc256def": "allocations_per_s",
    "binding": "responses_per_cpu_s", "idle1k": "rss_bytes_per_allocation",
    "idle10k": "rss_bytes_per_allocation", "idletcp1k": "rss_bytes_per_allocation",
    "callgrind120": "instructions_per_packet",
    "scale": "rss_bytes_per_allocation",
}


def get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj if isinstance(obj, (int, float)) and not isinstance(obj, bool) else None


def load(paths):
    runs = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    runs.append(json.loads(line))
    return runs


def medians(runs):
    """{target: {shape: {metric: median}}} over the rounds that produced the metric."""
    out = {}
    for (target, shape, metric), by_round in per_round(runs).items():
        out.setdefault(target, {}).setdefault(shape, {})[metric] = statistics.median(by_round.values())
    return out


def per_round(runs):
    """{(target, shape, metric): {round: value}} for ratios taken within each round."""
    out = {}
    for r in runs:
        target, shape = r.get("target") or r.get("label"), r.get("shape")
        for metric in METRICS.get(shape, []):
            v = get(r, metric)
            if v is not None:
                out.setdefault((target, shape, metric), {})[r.get("round", 0)] = v
    return out


def disturbed(runs):
    """Closed-loop relay runs in which neither the server nor the generator kept its CPU busy:
    something else (another process, softirq work deferred to ksoftirqd) had the machine."""
    bad = []
    for r in runs:
        if r.get("mode") in ("relay", "raw") and r.get("rate_offered") == 0 and r.get("ok"):
            s, g = r.get("server_cpu_util"), r.get("generator_cpu_util")
            if s is not None and g is not None and s < 0.8 and g < 0.8:
                bad.append(f"{r.get('target')}/{r.get('shape')}/round {r.get('round')}: "
                           f"server {s:.0%} and generator {g:.0%} busy")
    return bad


def incomplete(runs):
    """Relay runs in which some clients got no allocation or channel: that target carried a
    different load from the others (coturn 4.17.1 with --multiplex-peer refuses a second
    ChannelBind to one peer address), so its figures do not compare."""
    bad = []
    for r in runs:
        setup = r.get("setup") or {}
        if r.get("mode") == "relay" and setup.get("failed"):
            bad.append(f"{r.get('target')}/{r.get('shape')}/round {r.get('round')}: "
                       f"{setup.get('ready')} of {setup.get('allocations')} clients ready "
                       f"({', '.join(f'{k} x{v}' for k, v in (r.get('failures') or {}).items())})")
    return bad


def figures(med, rounds_data):
    """Rows: (figure, tern, coturn, forwarder, ratio, target text, met or None, unit).
    Values are medians over rounds; a ratio is the median of the per-round ratios (both
    targets measured in the same round), else the ratio of the medians."""
    def m(target, shape, metric):
        return med.get(target, {}).get(shape, {}).get(metric)

    def ratio(a, b, key=None):
        if key is not None:
            shape, metric, num, den = key
            x = rounds_data.get((num, shape, metric), {})
            y = rounds_data.get((den, shape, metric), {})
            pairs = [x[k] / y[k] for k in x if k in y and y[k]]
            if pairs:
                return statistics.median(pairs)
        return a / b if a is not None and b not in (None, 0) else None

    rows = []
    for shape, label, want in (("audio", "audio-like (100 clients x 50 pkt/s x 120 B)", 1.5),
                               ("high120", "high load, 120 B", 1.3),
                               ("high1200", "high load, 1200 B", 1.3)):
        t, c = m("tern", shape, "relayed_per_cpu_s"), m("coturn", shape, "relayed_per_cpu_s")
        r = ratio(t, c, (shape, "relayed_per_cpu_s", "tern", "coturn"))
        rows.append(("relayed packets per server CPU-second, " + label, t, c, None, r,
                     f">= {want}x coturn", None if r is None else r >= want, "pkt/CPU-s"))
    t, c = m("tern", "audiodef", "relayed_per_cpu_s"), m("coturn", "audiodef", "relayed_per_cpu_s")
    r = ratio(t, c, ("audiodef", "relayed_per_cpu_s", "tern", "coturn"))
    rows.append(("relayed packets per server CPU-second, audio-like with turnutils_uclient, "
                 "default config, unpinned", t, c, None, r, ">= 1.5x coturn",
                 None if r is None else r >= 1.5, "pkt/CPU-s"))
    for pc in ("p50", "p99"):  # what coalescing costs: the round trip crosses the server twice
        t, c = m("tern", "audio", "rtt_us." + pc), m("coturn", "audio", "rtt_us." + pc)
        rows.append((f"{pc} round trip client > peer > client, audio-like", ms(t), ms(c), None,
                     ratio(t, c), "", None, "ms"))
    for shape, label in (("tcp120", "TCP"), ("tls120", "TLS")):
        t, c = m("tern", shape, "relayed_per_cpu_s"), m("coturn", shape, "relayed_per_cpu_s")
        if t is not None or c is not None:
            rows.append((f"relayed packets per server CPU-second, high load over {label}, 120 B",
                         t, c, None, ratio(t, c, (shape, "relayed_per_cpu_s", "tern", "coturn")),
                         "", None, "pkt/CPU-s"))
    for shape, label in (("high120", "120 B"), ("high1200", "1200 B")):
        t, f = m("tern", shape, "relayed_per_cpu_s"), m("forwarder", shape, "relayed_per_cpu_s")
        r = ratio(t, f, (shape, "relayed_per_cpu_s", "tern", "forwarder"))
        rows.append((f"relayed packets per CPU-second vs forwarder (a relay without TURN), {label}", t, None, f, r,
                     ">= 0.85x forwarder", None if r is None else r >= 0.85, "pkt/CPU-s"))
    for shape, label in (("load50k", "50k"), ("load100k", "100k")):
        t, c = m("tern", shape, "loss_ratio"), m("coturn", shape, "loss_ratio")
        achieved = m("tern", shape, "offered_rate_achieved")
        note = f" (achieved {achieved:,.0f} msg/s)" if achieved else ""
        met = None if t is None else t == 0
        rows.append((f"loss at {label} msg/s offered{note}", pct(t), pct(c), None,
                     None, "no loss (where coturn loses)", met, "%"))
    t, c = m("tern", "allocate", "cpu_us_per_allocation"), m("coturn", "allocate", "cpu_us_per_allocation")
    r = ratio(t, c, ("allocate", "cpu_us_per_allocation", "tern", "coturn"))
    rows.append(("server CPU per allocation (401 + Allocate + delete), 64 in flight", t, c, None, r,
                 "<= 0.33x coturn", None if r is None else r <= 1 / 3, "us"))
    t, c = m("tern", "allocate", "allocations_per_cpu_s"), m("coturn", "allocate", "allocations_per_cpu_s")
    rows.append(("allocations per server CPU-second", t, c, None,
                 ratio(t, c, ("allocate", "allocations_per_cpu_s", "tern", "coturn")), "", None,
                 "alloc/CPU-s"))
    t, c = m("tern", "allocate", "allocate_us.p99"), m("coturn", "allocate", "allocate_us.p99")
    rows.append(("p99 allocate latency (401 + signed Allocate), 64 in flight",
                 ms(t), ms(c), None, ratio(t, c), "< 5 ms", None if t is None else t < 5000, "ms"))
    for shape, k in (("alloc64def", 64), ("alloc256def", 256)):  # many clients behind one address
        t, c = m("tern", shape, "allocations_per_s"), m("coturn", shape, "allocations_per_s")
        r = ratio(t, c, (shape, "allocations_per_s", "tern", "coturn"))
        rows.append((f"allocations per second, {k} in flight from one address, default config",
                     t, c, None, r, ">= 0.9x coturn", None if r is None else r >= 0.9, "alloc/s"))
        t, c = m("tern", shape, "allocate_us.p99"), m("coturn", shape, "allocate_us.p99")
        rows.append((f"p99 allocate latency, {k} in flight from one address, default config",
                     ms(t), ms(c), None, ratio(t, c), "< 100 ms",
                     None if t is None else t < 100000, "ms"))
    t, c = m("tern", "binding", "responses_per_cpu_s"), m("coturn", "binding", "responses_per_cpu_s")
    r = ratio(t, c, ("binding", "responses_per_cpu_s", "tern", "coturn"))
    rows.append(("STUN Binding requests per server CPU-second", t, c, None, r, ">= 1.5x coturn",
                 None if r is None else r >= 1.5, "req/CPU-s"))
    for shape, label in (("idle1k", "1k"), ("idle10k", "10k")):
        t, c = m("tern", shape, "rss_bytes_per_allocation"), m("coturn", shape, "rss_bytes_per_allocation")
        rows.append((f"memory (RSS) per idle allocation at {label}", t, c, None, ratio(t, c),
                     "<= 4096 B", None if t is None else t <= 4096, "B"))
    t, c = m("tern", "idletcp1k", "rss_bytes_per_allocation"), m("coturn", "idletcp1k", "rss_bytes_per_allocation")
    if t is not None or c is not None:
        rows.append(("memory (RSS) per idle allocation at 1k, clients on TCP", t, c, None,
                     ratio(t, c), "", None, "B"))
    t, c = m("tern", "callgrind120", "instructions_per_packet"), m("coturn", "callgrind120", "instructions_per_packet")
    f = m("forwarder", "callgrind120", "instructions_per_packet")
    if t is not None or c is not None:
        rows.append(("user-space instructions per relayed packet (callgrind, 120 B)", t, c, f,
                     ratio(t, c), "(lower is better)", None, "Ir/pkt"))
    t, c = m("tern", "idle10k", "allocations"), m("coturn", "idle10k", "allocations")
    rows.append(("concurrent allocations held (10k wanted)", t, c, None, None, "10000",
                 None if t is None else t >= 10000, ""))
    return rows


# tern against every coturn in the run (Debian's 4.6.1, 4.17.1 on its defaults and at its best):
# (shape, metric, label, unit).
VERSUS = [
    ("audio", "relayed_per_cpu_s", "relayed pkt/CPU-s, audio-like (pinned)", "pkt/CPU-s"),
    ("audiodef", "relayed_per_cpu_s", "relayed pkt/CPU-s, audio-like, uclient, defaults", "pkt/CPU-s"),
    ("high120", "relayed_per_cpu_s", "relayed pkt/CPU-s, high load 120 B", "pkt/CPU-s"),
    ("high1200", "relayed_per_cpu_s", "relayed pkt/CPU-s, high load 1200 B", "pkt/CPU-s"),
    ("tcp120", "relayed_per_cpu_s", "relayed pkt/CPU-s, TCP 120 B", "pkt/CPU-s"),
    ("tls120", "relayed_per_cpu_s", "relayed pkt/CPU-s, TLS 120 B", "pkt/CPU-s"),
    ("audio", "rtt_us.p50", "round trip p50, audio-like", "us"),
    ("audio", "rtt_us.p99", "round trip p99, audio-like", "us"),
    ("load50k", "loss_ratio", "loss at 50,000 msg/s offered", ""),
    ("load100k", "loss_ratio", "loss at 100,000 msg/s offered", ""),
    ("allocate", "cpu_us_per_allocation", "CPU per allocation", "us"),
    ("binding", "responses_per_cpu_s", "Binding requests per CPU-s", "req/CPU-s"),
    ("idle10k", "rss_bytes_per_allocation", "RSS per idle allocation at 10k", "B"),
    ("scale", "allocations", "allocations held with a channel (scale)", ""),
    ("scale", "rss_bytes_per_allocation", "RSS per allocation with a channel (scale)", "B"),
    ("scale", "active.relayed_per_cpu_s", "relayed pkt/CPU-s, 1 % active (scale)", "pkt/CPU-s"),
    ("scale", "active.loss_ratio", "loss, 1 % active (scale)", ""),
    ("scale", "active.rtt_us.p99", "round trip p99, 1 % active (scale)", "us"),
    ("scale", "hold_allocate.allocations_per_s", "allocations/s while held (scale)", "alloc/s"),
    ("scale", "hold_allocate.cpu_us_per_allocation", "CPU per allocation while held (scale)",
     "us"),
]
COTURNS = ["coturn", "coturn417", "coturn417best"]
# tern against the ceilings: tern_forwarder --pairs (a relay without TURN) and one-way to a sink.
FORWARDERS = ["forwarder", "forwarder1way"]
VERSUS_FORWARDERS = [row for row in VERSUS if row[:2] in {
    ("audio", "relayed_per_cpu_s"), ("high120", "relayed_per_cpu_s"),
    ("high1200", "relayed_per_cpu_s"), ("audio", "rtt_us.p50"), ("audio", "rtt_us.p99")}]


def versus(med, rounds_data, tern="tern", others=None, table=None):
    """Rows (label, unit, tern, [(other value, tern/other ratio)...]) for the other targets
    present (the coturns unless `others` says); `tern` names the tern target (tern, or
    ternmux: relay.multiplex_port)."""
    present = [c for c in (others or COTURNS) if c in med]
    rows = []
    if tern not in med:
        return present, rows
    for shape, metric, label, unit in table or VERSUS:
        t = med.get(tern, {}).get(shape, {}).get(metric)
        cells = []
        for c in present:
            v = med.get(c, {}).get(shape, {}).get(metric)
            x = rounds_data.get((tern, shape, metric), {})
            y = rounds_data.get((c, shape, metric), {})
            pairs = [x[k] / y[k] for k in x if k in y and y[k]]
            cells.append((v, statistics.median(pairs) if pairs else None))
        if t is not None or any(v is not None for v, _ in cells):
            rows.append((label, unit, t, cells))
    return present, rows


def versus_markdown(present, rows, tern="tern", against=None):
    if not present or not rows:
        return ""
    head = f"| figure | unit | {tern} | " + " | ".join(f"{c} | {tern}/{c}" for c in present) + " |"
    what = " (tern with relay.multiplex_port)" if tern == "ternmux" else ""
    against = against or ("each coturn (medians; a ratio is the median of per-round ratios; "
                          "coturn417best = 4.17.1 with --multiplex-peer --udp-gso)")
    out = ["", f"{tern}{what} against {against}:", "", head,
           "|---|---|---:|" + "---:|---:|" * len(present)]
    for label, unit, t, cells in rows:
        parts = [f"{fmt(v)} | {'-' if r is None else f'{r:.2f}x'}" for v, r in cells]
        out.append(f"| {label} | {unit} | {fmt(t)} | " + " | ".join(parts) + " |")
    return "\n".join(out) + "\n"


def versus_json(present, rows, tern):
    """versus() rows as JSON objects: the tern target's value, then each other target's."""
    return [{"figure": label, "unit": unit, tern: t,
             **{c: {"value": v, "ratio": r} for c, (v, r) in zip(present, cells)}}
            for label, unit, t, cells in rows]


def pct(v):
    return None if v is None else v * 100


def ms(v):
    return None if v is None else v / 1000


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def markdown(rows, rounds):
    out = [f"Medians over {rounds} round(s); a ratio is the median of the per-round ratios.", "",
           "| figure | unit | tern | coturn | forwarder | ratio | target | met |",
           "|---|---|---:|---:|---:|---:|---|---|"]
    for fig, t, c, f, r, target, met, unit in rows:
        verdict = "-" if met is None else ("yes" if met else "**no**")
        ratio_text = "-" if r is None else f"{r:.2f}x"
        out.append(f"| {fig} | {unit} | {fmt(t)} | {fmt(c)} | {fmt(f)} | {ratio_text} | {target} | {verdict} |")
    return "\n".join(out) + "\n"


def brief(run):
    shape = run.get("shape")
    if not run.get("ok", False):
        return "FAILED: " + str(run.get("error"))
    parts = []
    for metric in METRICS.get(shape, [])[:3]:
        v = get(run, metric)
        parts.append(f"{metric}={fmt(v)}")
    return " ".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("results", nargs="*", help="JSON lines files (stdin with --brief)")
    p.add_argument("--json", help="write the summary as JSON here")
    p.add_argument("--markdown", help="write the Markdown table here")
    p.add_argument("--brief", action="store_true", help="one line about one run read on stdin")
    p.add_argument("--note", help="a line printed above the table")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a run failed or lacks its shape's main number")
    a = p.parse_args()
    if a.brief:
        for line in sys.stdin:
            if line.strip():
                print(brief(json.loads(line)))
        return 0
    runs = load(a.results)
    med = medians(runs)
    rounds = max((r.get("round", 0) for r in runs), default=0)
    rows = figures(med, per_round(runs))
    noisy = disturbed(runs)
    md = markdown(rows, rounds)
    present, vs_rows = versus(med, per_round(runs))
    md += versus_markdown(present, vs_rows)
    _, mux_rows = versus(med, per_round(runs), "ternmux")
    md += versus_markdown(present, mux_rows, "ternmux")
    fwd_rows = {}
    for t in ("tern", "ternmux"):
        fwd_present, fwd_rows[t] = versus(med, per_round(runs), t, FORWARDERS, VERSUS_FORWARDERS)
        md += versus_markdown(fwd_present, fwd_rows[t], t,
                              "the forwarders (medians; a ratio is the median of per-round ratios; "
                              "forwarder = a two-way relay without TURN, target >= 0.85x; "
                              "forwarder1way = everything to one sink)")
    if a.note:
        md = a.note + "\n\n" + md
    if noisy:
        md += "\nDisturbed runs (kept; the per-round ratio medians damp them): " + "; ".join(noisy) + "\n"
    partial = incomplete(runs)
    if partial:
        md += ("\n**Runs with clients that got no allocation or channel (their load differed; "
               "do not compare them):** " + "; ".join(partial) + "\n")
    bad = [f"{r.get('target')}/{r.get('shape')}/round {r.get('round')}: {r.get('error', 'missing ' + PRIMARY.get(r.get('shape'), '?'))}"
           for r in runs
           if not r.get("ok", False) or get(r, PRIMARY.get(r.get("shape"), "")) is None]
    summary = {
        "rounds": rounds,
        "medians": med,
        "figures": [{"figure": f, "unit": u, "tern": t, "coturn": c, "forwarder": fw, "ratio": r,
                     "target": tg, "met": met} for f, t, c, fw, r, tg, met, u in rows],
        "versus": versus_json(present, vs_rows, "tern"),
        "versus_ternmux": versus_json(present, mux_rows, "ternmux"),
        "versus_forwarders": {t: versus_json(fwd_present, fwd_rows[t], t) for t in fwd_rows},
        "failed_runs": bad,
        "disturbed_runs": noisy,
        "incomplete_runs": partial,
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    print(json.dumps({"figures": summary["figures"], "failed_runs": bad}))
    print()
    print(md, end="")
    if a.check and bad:
        for b in bad:
            print("failed run: " + b, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
