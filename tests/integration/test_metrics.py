"""Prometheus metrics endpoint: /metrics, /healthz, /readyz, a real Prometheus scraping tern,
counters moving live under turnutils_uclient traffic, and the shipped alert rules and dashboard."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import Tern
from test_turn_interop import PEER_IP, TURN_CONFIG, free_udp_port, totals, turnutils_peer

METRICS_CONFIG = TURN_CONFIG + """
metrics: {listen: "127.0.0.1:0"}
"""

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ALERTS = os.path.join(REPO, "deploy", "prometheus", "tern-alerts.yml")
ALERTS_TEST = os.path.join(REPO, "deploy", "prometheus", "tern-alerts.test.yml")
PROMETHEUS_CONFIG = os.path.join(REPO, "deploy", "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "tern-dashboard.json")
METRICS_DOC = os.path.join(REPO, "docs", "metrics.md")

HAVE_PROMTOOL = shutil.which("promtool") is not None
HAVE_PROMETHEUS = shutil.which("prometheus") is not None
HAVE_TURNUTILS = shutil.which("turnutils_uclient") is not None and \
    shutil.which("turnutils_peer") is not None

# Every family tern exports, with its type (docs/metrics.md).
FAMILIES = {
    "tern_build_info": "gauge",
    "tern_allocations_active": "gauge",
    "tern_worker_allocations": "gauge",
    "tern_udp_steering_pins_refused_total": "counter",
    "tern_offload_bindings": "gauge",
    "tern_allocation_attempts_total": "counter",
    "tern_allocations_moved_total": "counter",
    "tern_allocations_moved_between_workers_total": "counter",
    "tern_requests_total": "counter",
    "tern_request_duration_seconds": "histogram",
    "tern_auth_failures_total": "counter",
    "tern_auth_challenges_total": "counter",
    "tern_relayed_bytes_total": "counter",
    "tern_relayed_packets_total": "counter",
    "tern_dropped_packets_total": "counter",
    "tern_permissions_active": "gauge",
    "tern_channels_active": "gauge",
    "tern_relay_ports_in_use": "gauge",
    "tern_relay_ports_available": "gauge",
    "tern_binding_requests_total": "counter",
    "tern_connections_active": "gauge",
    "tern_connections_refused_total": "counter",
    "tern_config_reloads_total": "counter",
    "tern_config_last_reload_success_timestamp_seconds": "gauge",
    "tern_tls_certificate_expiry_timestamp_seconds": "gauge",
    "tern_secrets_loaded": "gauge",
    "tern_users_loaded": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}

METHODS = {"binding", "allocate", "refresh", "create_permission", "channel_bind", "other"}
# The only label values each family may carry: no label is unbounded.
LABEL_VALUES = {
    "tern_allocations_active": {"transport": {"udp", "tcp", "tls", "dtls"}, "family": {"ipv4", "ipv6"}},
    "tern_worker_allocations": {"worker": {"0", "1"}},  # the harness runs two workers
    "tern_udp_steering_pins_refused_total": {},
    "tern_offload_bindings": {},
    "tern_allocation_attempts_total": {"result": {
        "success", "bad_request", "unauthenticated", "forbidden", "mobility_forbidden",
        "unknown_attribute",
        "allocation_mismatch", "stale_nonce", "family_not_supported", "wrong_credentials",
        "unsupported_transport", "quota_reached", "insufficient_capacity",
        "try_alternate", "peer_family_mismatch", "server_error"}},
    "tern_requests_total": {"method": METHODS, "code": {
        "200", "300", "400", "401", "403", "420", "437", "438", "440", "441", "442", "443",
        "405", "446", "447", "486", "500", "508"}},
    "tern_request_duration_seconds": {"method": METHODS},
    "tern_auth_failures_total": {"reason": {
        "missing_attributes", "password_algorithms", "wrong_realm", "unknown_user",
        "bad_integrity", "stale_nonce"}},
    "tern_auth_challenges_total": {},
    "tern_allocations_moved_total": {},
    "tern_allocations_moved_between_workers_total": {},
    "tern_relayed_bytes_total": {"leg": {"client", "peer"}, "direction": {"received", "sent"}},
    "tern_relayed_packets_total": {"leg": {"client", "peer"}, "direction": {"received", "sent"}},
    "tern_dropped_packets_total": {"reason": {
        "no_permission", "denied_peer", "quota", "malformed", "rate_limited", "too_large"}},
    "tern_permissions_active": {},
    "tern_channels_active": {},
    "tern_relay_ports_in_use": {"family": {"ipv4", "ipv6"}},
    "tern_relay_ports_available": {"family": {"ipv4", "ipv6"}},
    "tern_binding_requests_total": {"transport": {"udp", "tcp", "tls", "dtls"}},
    "tern_connections_active": {"transport": {"tcp", "tls", "dtls"}},
    "tern_connections_refused_total": {"reason": {"limit", "per_source", "descriptors",
                                                  "proxy_header"}},
    "tern_config_reloads_total": {"result": {"success", "failure"}},
    "tern_config_last_reload_success_timestamp_seconds": {},
    "tern_tls_certificate_expiry_timestamp_seconds": {},
    "tern_secrets_loaded": {},
    "tern_users_loaded": {},
}
# Families whose every label combination must be exported from startup (at 0), so that
# rate()/increase() and the alerts see the first event and dashboards show no gaps.
PREINITIALIZED = ["tern_allocations_active", "tern_auth_failures_total", "tern_relayed_bytes_total",
                  "tern_relayed_packets_total", "tern_dropped_packets_total",
                  "tern_binding_requests_total", "tern_connections_active", "tern_connections_refused_total",
                  "tern_config_reloads_total"]

HTTP_TIMEOUT = 5


def http_get(host, port, path, timeout=HTTP_TIMEOUT):
    """Returns (status, body text, content type)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), r.getheader("Content-Type", "")
    finally:
        conn.close()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_labels(text):
    labels, pos = {}, 0
    text = text or ""
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels: {%s}" % text)
        labels[m.group(1)] = m.group(2).replace(r"\n", "\n").replace(r'\"', '"') \
            .replace("\\\\", "\\")
        pos = m.end()
    return labels


class Exposition:
    """A parsed text-format 0.0.4 exposition: families (name -> type), helps, samples."""

    def __init__(self, text):
        self.text = text
        self.types, self.helps, self.samples = {}, {}, []
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
                elif len(parts) >= 3 and parts[1] == "HELP":
                    self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise ValueError("bad sample line: %r" % line)
            self.samples.append((m.group(1), parse_labels(m.group(2)), float(m.group(3))))

    def family_of(self, sample_name):
        if sample_name in self.types:
            return sample_name
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[:-len(suffix)]
            if sample_name.endswith(suffix) and self.types.get(base) in ("histogram", "summary"):
                return base
        return sample_name

    def series(self, name, **match):
        return [(labels, v) for n, labels, v in self.samples
                if n == name and all(labels.get(k) == want for k, want in match.items())]

    def sum(self, name, **match):
        return sum(v for _, v in self.series(name, **match))


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(test, config_text):
    """Runs Prometheus with `config_text` as its config in a temporary directory that `test`
    cleans up; returns (process, its API port, path of its log)."""
    tmp = tempfile.TemporaryDirectory(prefix="tern-prom-")
    test.addCleanup(tmp.cleanup)
    config = os.path.join(tmp.name, "prometheus.yml")
    with open(config, "w") as f:
        f.write(config_text)
    prom_port = free_tcp_port()
    log_path = os.path.join(tmp.name, "prometheus.log")
    with open(log_path, "w") as log:
        prom = subprocess.Popen(["prometheus", "--config.file=" + config,
                                 "--storage.tsdb.path=" + os.path.join(tmp.name, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                                stdout=log, stderr=subprocess.STDOUT)
    test.addCleanup(stop_process, prom)
    return prom, prom_port, log_path


def stop_process(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dashboard_metric_names(dashboard):
    """Every tern_*/process_* name used in the dashboard's queries and variables."""
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t.get("expr", "") for t in p.get("targets", []))
            walk(p.get("panels", []))

    walk(dashboard.get("panels", []))
    for var in dashboard.get("templating", {}).get("list", []):
        q = var.get("query")
        exprs.append(q.get("query", "") if isinstance(q, dict) else (q or ""))
        exprs.append(var.get("definition", ""))
    names = set()
    for e in exprs:
        names.update(re.findall(r"\b((?:tern|process)_[a-zA-Z0-9_]+)", e))
    return names, exprs


class MetricsEndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tern = Tern(METRICS_CONFIG).__enter__()
        try:
            cls.host, cls.port = cls.tern.addr("metrics")
        except KeyError:
            cls.tern.__exit__(None, None, None)
            raise RuntimeError("tern printed no 'listening metrics' line:\n" +
                               "".join(cls.tern.output))

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def scrape(self):
        status, body, ctype = http_get(self.host, self.port, "/metrics")
        self.assertEqual(status, 200, body[:2000])
        return Exposition(body), ctype

    def test_metrics_are_valid_text_format_with_every_family(self):
        expo, ctype = self.scrape()
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertIn("version=0.0.4", ctype)
        for name, kind in FAMILIES.items():
            with self.subTest(family=name):
                self.assertIn(name, expo.helps, "no # HELP line")
                self.assertTrue(expo.helps[name].strip(), "empty help text")
                self.assertEqual(expo.types.get(name), kind, "# TYPE line")
        info = expo.series("tern_build_info")
        self.assertEqual(len(info), 1, info)
        self.assertEqual(info[0][1], 1.0)
        self.assertTrue(info[0][0].get("version"), info)

    @unittest.skipUnless(HAVE_PROMTOOL, "promtool not installed (Debian package prometheus)")
    def test_promtool_check_metrics_accepts_the_exposition(self):
        expo, _ = self.scrape()
        p = subprocess.run(["promtool", "check", "metrics"], input=expo.text,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, ""), p.stdout)

    def test_labels_take_only_the_documented_values(self):
        expo, _ = self.scrape()
        for name, labels, _ in expo.samples:
            family = expo.family_of(name)
            if not family.startswith("tern_") or family == "tern_build_info":
                continue
            with self.subTest(sample=name, labels=labels):
                self.assertIn(family, LABEL_VALUES, "undocumented family")
                allowed = dict(LABEL_VALUES[family])
                if name.endswith("_bucket") and family != name:
                    allowed["le"] = None
                self.assertEqual(set(labels), set(allowed), "label names")
                for k, v in labels.items():
                    if allowed[k] is not None:
                        self.assertIn(v, allowed[k], "value of label %s" % k)

    def test_known_label_combinations_are_exported_from_start(self):
        expo, _ = self.scrape()
        for family in PREINITIALIZED:
            values = LABEL_VALUES[family]
            combos = [{}]
            for k, vs in values.items():
                combos = [dict(c, **{k: v}) for c in combos for v in sorted(vs)]
            for combo in combos:
                with self.subTest(family=family, labels=combo):
                    self.assertEqual(len(expo.series(family, **combo)), 1)
        for name in ("tern_auth_challenges_total", "tern_permissions_active",
                     "tern_channels_active", "tern_users_loaded", "tern_secrets_loaded",
                     "tern_tls_certificate_expiry_timestamp_seconds"):
            with self.subTest(family=name):
                self.assertEqual(len(expo.series(name)), 1)
        # One series per relay family: the test config relays IPv4 and IPv6.
        for name in ("tern_relay_ports_in_use", "tern_relay_ports_available"):
            for family in ("ipv4", "ipv6"):
                with self.subTest(family=name, address_family=family):
                    self.assertEqual(len(expo.series(name, family=family)), 1)

    def test_static_values_match_the_config(self):
        expo, _ = self.scrape()
        self.assertEqual(expo.sum("tern_users_loaded"), 1)      # alice
        self.assertEqual(expo.sum("tern_secrets_loaded"), 1)    # north
        # relay.min_port..max_port = 40000..44999: 5000 ports for each relay family (IPv4 and,
        # with relay.address_v6, IPv6).
        total = expo.sum("tern_relay_ports_in_use") + expo.sum("tern_relay_ports_available")
        self.assertEqual(total, 2 * 5000)
        # The self-signed certificate lives for a while yet.
        left = expo.sum("tern_tls_certificate_expiry_timestamp_seconds") - time.time()
        self.assertGreater(left, 14 * 86400)
        started = expo.sum("process_start_time_seconds")
        self.assertLess(abs(time.time() - started), 3600)
        self.assertGreater(expo.sum("process_resident_memory_bytes"), 0)
        self.assertGreater(expo.sum("process_open_fds"), 0)
        self.assertGreaterEqual(expo.sum("process_max_fds"), expo.sum("process_open_fds"))
        buckets = [float(labels["le"]) for labels, _ in
                   expo.series("tern_request_duration_seconds_bucket", method="allocate")]
        self.assertIn(float("inf"), buckets)
        self.assertAlmostEqual(min(buckets), 0.00001)
        self.assertAlmostEqual(max(b for b in buckets if b != float("inf")), 0.1)

    def test_healthz_and_readyz(self):
        status, body, _ = http_get(self.host, self.port, "/healthz")
        self.assertEqual((status, body.strip()), (200, "ok"))
        status, body, _ = http_get(self.host, self.port, "/readyz")
        self.assertEqual(status, 200, body)

    def test_unknown_path_is_404(self):
        status, _, _ = http_get(self.host, self.port, "/nope")
        self.assertEqual(status, 404)

    def test_dashboard_uses_only_exported_metrics(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        names, _ = dashboard_metric_names(dashboard)
        self.assertTrue(names)
        expo, _ = self.scrape()
        exported = set(expo.types)
        for name in sorted(names):
            with self.subTest(metric=name):
                base = name
                for suffix in ("_bucket", "_sum", "_count"):
                    if name.endswith(suffix) and expo.types.get(name[:-len(suffix)]) == "histogram":
                        base = name[:-len(suffix)]
                self.assertIn(base, exported)

    def test_every_exported_family_is_documented(self):
        with open(METRICS_DOC) as f:
            doc = f.read()
        expo, _ = self.scrape()
        for family in expo.types:
            if family.startswith("tern_") or family in FAMILIES:
                with self.subTest(family=family):
                    self.assertIn("`%s`" % family, doc)

    def test_counters_count_a_session(self):
        if not HAVE_TURNUTILS:
            self.skipTest("coturn's turnutils not installed")
        before, _ = self.scrape()
        ip, port = self.tern.addr("udp")
        out = subprocess.run(["turnutils_uclient", "-u", "alice", "-w", "wonderland", "-p",
                              str(port), "-n", "5", "-m", "1", "-y", ip],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=60).stdout
        bad = subprocess.run(["turnutils_uclient", "-u", "alice", "-w", "queen", "-p",
                              str(port), "-n", "5", "-m", "1", "-y", ip],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=60).stdout
        self.assertIn("Cannot complete Allocation", bad)
        after, _ = self.scrape()

        def delta(name, **labels):
            return after.sum(name, **labels) - before.sum(name, **labels)

        # -y: two allocations talking to each other; each first Allocate is challenged.
        self.assertGreaterEqual(delta("tern_allocation_attempts_total", result="success"), 2, out)
        self.assertGreaterEqual(delta("tern_auth_challenges_total"), 2)
        self.assertGreaterEqual(delta("tern_requests_total", method="allocate", code="200"), 2)
        self.assertGreaterEqual(delta("tern_requests_total", method="allocate", code="401"), 3)
        self.assertGreaterEqual(delta("tern_request_duration_seconds_count", method="allocate"), 2)
        self.assertGreater(delta("tern_request_duration_seconds_sum", method="allocate"), 0)
        self.assertGreaterEqual(delta("tern_auth_failures_total", reason="bad_integrity"), 1)
        self.assertGreaterEqual(delta("tern_relayed_packets_total", leg="client",
                                      direction="received"), 10)

    @unittest.skipUnless(HAVE_TURNUTILS, "coturn's turnutils not installed")
    def test_relay_counters_move_live_during_a_session(self):
        peer_port = free_udp_port(PEER_IP)
        peer = turnutils_peer(peer_port)
        self.addCleanup(stop_process, peer)
        before, _ = self.scrape()
        ip, port = self.tern.addr("udp")
        # uclient writes to a file, not a pipe: nobody reads a pipe while the test scrapes.
        out_file = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(out_file.close)

        def output():
            out_file.seek(0)
            return out_file.read()[-3000:]

        # 2 sessions x 400 messages of 120 bytes, one every 20 ms: about 8 s of traffic.
        client = subprocess.Popen(["turnutils_uclient", "-u", "alice", "-w", "wonderland",
                                   "-p", str(port), "-n", "400", "-z", "20", "-m", "2",
                                   "-l", "120", "-e", PEER_IP, "-r", str(peer_port), ip],
                                  stdout=out_file, stderr=subprocess.STDOUT)
        self.addCleanup(stop_process, client)
        peer_sent = {"leg": "peer", "direction": "sent"}

        deadline = time.monotonic() + 15
        first = before
        while first.sum("tern_relayed_bytes_total", **peer_sent) <= \
                before.sum("tern_relayed_bytes_total", **peer_sent):
            if client.poll() is not None:
                self.fail("uclient ended before any byte was relayed:\n" + output())
            self.assertLess(time.monotonic(), deadline, "no relayed bytes within 15 s")
            time.sleep(0.2)
            first, _ = self.scrape()
        time.sleep(1.0)
        second, _ = self.scrape()
        running = client.poll() is None    # checked after the scrape: it was taken mid-run
        self.assertTrue(running, "uclient finished before the second scrape:\n" + output())
        self.assertGreater(second.sum("tern_relayed_bytes_total", **peer_sent),
                           first.sum("tern_relayed_bytes_total", **peer_sent))
        self.assertGreater(second.sum("tern_relayed_packets_total", **peer_sent),
                           first.sum("tern_relayed_packets_total", **peer_sent))
        for scrape in (first, second):
            self.assertGreater(scrape.sum("tern_allocations_active"), 0)
            self.assertGreater(scrape.sum("tern_allocations_active", transport="udp",
                                          family="ipv4"), 0)
            self.assertGreater(scrape.sum("tern_permissions_active"), 0)
            self.assertGreater(scrape.sum("tern_relay_ports_in_use"), 0)

        try:
            client.wait(60)
        except subprocess.TimeoutExpired:
            self.fail("uclient did not finish within 60 s:\n" + output())
        out_file.seek(0)
        out = out_file.read()
        self.assertEqual(totals(out), ((800, 800), 0), out[-3000:])
        after, _ = self.scrape()
        for leg in ("client", "peer"):
            for direction in ("received", "sent"):
                with self.subTest(leg=leg, direction=direction):
                    labels = {"leg": leg, "direction": direction}
                    self.assertGreaterEqual(after.sum("tern_relayed_packets_total", **labels) -
                                            before.sum("tern_relayed_packets_total", **labels), 800)
        # On the peer leg a relayed byte is a UDP payload byte: exactly the 120-byte messages.
        self.assertGreaterEqual(after.sum("tern_relayed_bytes_total", **peer_sent) -
                                before.sum("tern_relayed_bytes_total", **peer_sent), 800 * 120)

    @unittest.skipUnless(HAVE_PROMETHEUS, "prometheus not installed (Debian package prometheus)")
    def test_prometheus_scrapes_tern_and_loads_the_alert_rules(self):
        prom, prom_port, log_path = start_prometheus(
            self, "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "rule_files: [%s]\n"
            "scrape_configs:\n"
            "  - job_name: tern\n"
            "    static_configs: [{targets: ['%s:%d']}]\n"
            % (json.dumps(ALERTS), self.host, self.port))

        def log_tail():
            with open(log_path) as f:
                return f.read()[-3000:]

        def api(path, **params):
            status, body, _ = http_get("127.0.0.1", prom_port,
                                       path + "?" + urllib.parse.urlencode(params))
            if status == 503:  # Prometheus answers 503 until its storage is ready
                raise http.client.HTTPException("not ready")
            self.assertEqual(status, 200, body)
            return json.loads(body)

        deadline = time.monotonic() + 30
        result = []
        while not result:
            self.assertIsNone(prom.poll(), "prometheus exited:\n" + log_tail())
            self.assertLess(time.monotonic(), deadline,
                            "no tern_allocations_active in Prometheus within 30 s:\n" + log_tail())
            time.sleep(0.5)
            try:
                reply = api("/api/v1/query", query="tern_allocations_active")
            except (OSError, http.client.HTTPException):
                continue     # not listening yet
            self.assertEqual(reply["status"], "success", reply)
            self.assertEqual(reply["data"]["resultType"], "vector", reply)
            result = reply["data"]["result"]
        for series in result:
            self.assertEqual(series["metric"]["job"], "tern")
            self.assertIn(series["metric"]["transport"], {"udp", "tcp", "tls", "dtls"})
        up = api("/api/v1/query", query='up{job="tern"}')["data"]["result"]
        self.assertEqual([s["value"][1] for s in up], ["1"], up)

        groups = api("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.assertTrue(rules, groups)
        for rule in rules:
            with self.subTest(rule=rule["name"]):
                self.assertNotEqual(rule.get("health"), "err", rule.get("lastError"))
        stop_process(prom)
        self.assertIsNotNone(prom.returncode)


class AlertRulesTest(unittest.TestCase):
    def promtool(self, *args):
        if not HAVE_PROMTOOL:
            self.skipTest("promtool not installed (Debian package prometheus)")
        p = subprocess.run(["promtool", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60, cwd=REPO)
        self.assertEqual(p.returncode, 0, p.stdout)
        return p.stdout

    def test_check_rules(self):
        out = self.promtool("check", "rules", ALERTS)
        self.assertIn("SUCCESS", out)

    def test_rules_unit_tests_pass(self):
        out = self.promtool("test", "rules", ALERTS_TEST)
        self.assertIn("SUCCESS", out)

    def test_check_example_config(self):
        self.promtool("check", "config", PROMETHEUS_CONFIG)

    def test_every_alert_has_a_unit_test(self):
        with open(ALERTS) as f:
            alerts = set(re.findall(r"^\s*- alert:\s*(\w+)", f.read(), re.M))
        with open(ALERTS_TEST) as f:
            tested = set(re.findall(r"^\s*alertname:\s*(\w+)", f.read(), re.M))
        self.assertTrue(alerts)
        self.assertEqual(alerts - tested, set())


class DashboardTest(unittest.TestCase):
    def test_dashboard_is_well_formed(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        self.assertGreaterEqual(dashboard["schemaVersion"], 36)
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        self.assertEqual(variables["DS_PROMETHEUS"]["type"], "datasource")
        self.assertEqual(variables["DS_PROMETHEUS"]["query"], "prometheus")
        self.assertIn("instance", variables)
        names, _ = dashboard_metric_names(dashboard)
        self.assertTrue(names)
        for name in names:
            if name not in FAMILIES:
                self.assertIn(re.sub(r"_(bucket|sum|count)$", "", name), FAMILIES, name)
        ids = set()
        for p in dashboard["panels"]:
            self.assertNotIn(p["id"], ids)
            ids.add(p["id"])
            if p["type"] != "row":
                self.assertEqual(p["datasource"]["uid"], "${DS_PROMETHEUS}", p["title"])
                for t in p["targets"]:
                    self.assertIn('instance=~"$instance"', t["expr"], p["title"])

    @unittest.skipUnless(HAVE_PROMTOOL, "promtool not installed (Debian package prometheus)")
    def test_dashboard_queries_parse(self):
        # promtool has no "check expression": wrap each query in a recording rule instead.
        with open(DASHBOARD) as f:
            _, exprs = dashboard_metric_names(json.load(f))
        exprs = [e for e in exprs if e and not e.startswith("label_values")]
        self.assertTrue(exprs)
        with tempfile.TemporaryDirectory(prefix="tern-dash-") as tmp:
            path = os.path.join(tmp, "rules.yml")
            rules = [{"record": "dashboard:query_%d" % i,
                      "expr": e.replace("$instance", ".*").replace("$__rate_interval", "1m")
                               .replace("$__range", "1h").replace("$__interval", "1m")}
                     for i, e in enumerate(exprs)]
            with open(path, "w") as f:
                json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            p = subprocess.run(["promtool", "check", "rules", path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    unittest.main()
