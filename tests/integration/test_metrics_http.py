"""The metrics endpoint as an HTTP server: HEAD, keep-alive, gzip, 405/400, its connection limit,
and HTTPS (`metrics.tls`) scraped by a real Prometheus."""
import gzip
import http.client
import json
import select
import socket
import ssl
import time
import unittest
import urllib.parse

from harness import Tern
from test_metrics import HAVE_PROMETHEUS, METRICS_CONFIG, Exposition, http_get, start_prometheus

MAX_CONNECTIONS = 64  # net::HttpEndpoint::kMaxConnections


def request(conn, method, path, headers=None):
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    return r, r.read()


class MetricsHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tern = Tern(METRICS_CONFIG).__enter__()
        cls.host, cls.port = cls.tern.addr("metrics")

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def connect(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.addCleanup(conn.close)
        return conn

    def test_head_sends_the_headers_of_get_without_the_body(self):
        conn = self.connect()
        r, body = request(conn, "HEAD", "/healthz")
        self.assertEqual((r.status, body), (200, b""))
        got, got_body = request(conn, "GET", "/healthz")
        self.assertEqual(r.getheader("Content-Length"), str(len(got_body)))
        self.assertEqual(r.getheader("Content-Type"), got.getheader("Content-Type"))

    def test_one_connection_serves_many_requests(self):
        conn = self.connect()
        request(conn, "GET", "/healthz")
        sock = conn.sock
        self.assertIsNotNone(sock)
        for path in ("/metrics", "/readyz", "/healthz", "/metrics"):
            r, body = request(conn, "GET", path)
            self.assertEqual(r.status, 200, body[:500])
            self.assertIs(conn.sock, sock, "the connection was not kept alive")

    def test_gzip_only_when_the_client_accepts_it(self):
        conn = self.connect()
        r, plain = request(conn, "GET", "/metrics")
        self.assertIsNone(r.getheader("Content-Encoding"))
        r, packed = request(conn, "GET", "/metrics", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(r.getheader("Vary"), "Accept-Encoding")
        unpacked = gzip.decompress(packed).decode()
        families = lambda text: {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE")}
        self.assertEqual(families(unpacked), families(plain.decode()))
        print("\n# metrics: /metrics %d bytes, %d gzip-compressed (%.0f %%)"
              % (len(plain), len(packed), 100.0 * len(packed) / len(plain)))
        self.assertLess(len(packed), len(plain) / 3)
        r, refused = request(conn, "GET", "/metrics", {"Accept-Encoding": "gzip;q=0, identity"})
        self.assertIsNone(r.getheader("Content-Encoding"))
        self.assertTrue(refused.startswith(b"# HELP"))

    def test_other_methods_get_405_with_allow(self):
        r, _ = request(self.connect(), "POST", "/metrics")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "GET, HEAD")

    def test_garbage_and_oversized_heads_get_400(self):
        for payload in (b"NONSENSE\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n"):
            with socket.create_connection((self.host, self.port), timeout=10) as s:
                s.sendall(payload)
                reply = s.recv(4096)
                self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:200])

    def test_connections_past_the_limit_are_closed_and_the_endpoint_recovers(self):
        held = []
        try:
            for _ in range(MAX_CONNECTIONS + 8):
                held.append(socket.create_connection((self.host, self.port), timeout=5))
            # The server closes the ones past its limit at once; the others wait for a request.
            time.sleep(1.0)
            readable, _, _ = select.select(held, [], [], 0)
            for s in readable:
                try:
                    self.assertEqual(s.recv(1), b"")
                except ConnectionResetError:
                    pass
            self.assertEqual(len(readable), 8)
        finally:
            for s in held:
                s.close()
        deadline = time.time() + 10
        while True:
            try:
                status, _, _ = http_get(self.host, self.port, "/healthz")
                break
            except OSError:
                self.assertLess(time.time(), deadline)
                time.sleep(0.2)
        self.assertEqual(status, 200)


class MetricsTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tern = Tern(METRICS_CONFIG.replace('metrics: {listen: "127.0.0.1:0"}',
                                               'metrics: {listen: "127.0.0.1:0", tls: true}'))
        cls.tern.__enter__()
        cls.host, cls.port = cls.tern.addr("metrics")
        cls.context = ssl.create_default_context()
        cls.context.check_hostname = False
        cls.context.verify_mode = ssl.CERT_NONE

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def test_https_serves_the_metrics_and_plain_http_gets_nothing(self):
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=self.context)
        self.addCleanup(conn.close)
        r, body = request(conn, "GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertGreater(len(Exposition(body.decode()).samples), 50)
        with self.assertRaises((http.client.HTTPException, OSError)):
            http_get(self.host, self.port, "/metrics", timeout=5)

    @unittest.skipUnless(HAVE_PROMETHEUS, "prometheus not installed (Debian package prometheus)")
    def test_prometheus_scrapes_over_https(self):
        prom, prom_port, log_path = start_prometheus(
            self, "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: tern\n"
            "    scheme: https\n"
            "    tls_config: {insecure_skip_verify: true}\n"
            "    static_configs: [{targets: ['%s:%d']}]\n" % (self.host, self.port))
        deadline = time.monotonic() + 30
        up = []
        while up != ["1"]:
            self.assertIsNone(prom.poll(), "prometheus exited")
            if time.monotonic() > deadline:
                with open(log_path) as f:
                    self.fail("tern not up over https within 30 s: %s\n%s" % (up, f.read()[-3000:]))
            time.sleep(0.5)
            try:
                status, body, _ = http_get("127.0.0.1", prom_port, "/api/v1/query?" +
                                           urllib.parse.urlencode({"query": 'up{job="tern"}'}))
            except (OSError, http.client.HTTPException):
                continue
            if status == 200:
                up = [s["value"][1] for s in json.loads(body)["data"]["result"]]
        status, body, _ = http_get("127.0.0.1", prom_port, "/api/v1/query?" +
                                   urllib.parse.urlencode({"query": "tern_allocations_active"}))
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(body)["data"]["result"])


if __name__ == "__main__":
    unittest.main()
