"""One port for everything (`transport: any`): coturn's turnutils_uclient relays over plain TCP
and over TLS through it, HTTPS (ALPN http/1.1, or no ALPN at all: told apart by the first
request after the handshake) and plain HTTP reach the demo page and /api/ice-servers, a
WebSocket upgrades over TLS, and anything else is closed."""
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from stun_client import binding_request, parse, recv_frame
from test_turn_interop import PEER_IP, WithPeer, totals

CONFIG = """
relay: {address: 127.0.0.1, rfc5766_channels: true, min_port: 46000, max_port: 46999}
auth:
  users: [{name: alice, password: wonderland}]
  secrets: [north]
peers: {allow: [127.0.0.2/32]}
signaling: {listen: "127.0.0.1:0"}
connections: {handshake_timeout: 2s}
"""
LISTEN = [("udp", "127.0.0.1"), ("any", "127.0.0.1")]


def tls_context(alpn):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class SharedPortTest(WithPeer, unittest.TestCase):
    CONFIG = CONFIG
    LISTEN = LISTEN

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host, cls.port = cls.tern.addr("tls")

    def test_the_banner_lists_the_port_for_tcp_and_tls(self):
        self.assertEqual(self.tern.addr("tcp"), (self.host, self.port))

    def uclient(self, flags):
        cmd = ["turnutils_uclient", *flags, "-u", "alice", "-w", "wonderland", "-p", str(self.port),
               "-n", "100", "-m", "4", "-l", "120", "-e", PEER_IP, "-r", str(self.peer_port),
               self.host]
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=90).stdout

    def test_turn_over_tcp(self):
        out = self.uclient(["-t"])
        self.assertEqual(totals(out), ((400, 400), 0), out[-3000:])

    def test_turn_over_tls(self):
        out = self.uclient(["-t", "-S"])
        self.assertEqual(totals(out), ((400, 400), 0), out[-3000:])

    def https(self, path, alpn=("http/1.1",)):
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=10,
                                           context=tls_context(list(alpn)))
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read(), conn.sock.selected_alpn_protocol()
        finally:
            conn.close()

    def test_https_serves_the_page_and_ice_servers_naming_this_port(self):
        status, body, alpn = self.https("/")
        self.assertEqual((status, alpn), (200, "http/1.1"))
        self.assertIn(b"<html", body.lower())
        status, body, _ = self.https("/api/ice-servers", alpn=("h2", "http/1.1"))
        self.assertEqual(status, 200, body)
        urls = [u for s in json.loads(body)["iceServers"] for u in s["urls"]]
        self.assertIn("turns:%s:%d?transport=tcp" % (self.host, self.port), urls)
        self.assertIn("turn:%s:%d?transport=tcp" % (self.host, self.port), urls)

    def test_plain_http_serves_the_page(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"<html", r.read().lower())
        finally:
            conn.close()

    def test_websocket_over_tls(self):
        raw = socket.create_connection((self.host, self.port), timeout=10)
        s = tls_context(["http/1.1"]).wrap_socket(raw, server_hostname="localhost")
        try:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: tern\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(1)
                self.assertTrue(chunk, head)
                head += chunk
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        finally:
            s.close()

    def test_https_without_alpn_keeps_its_connection_for_further_requests(self):
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=10,
                                           context=tls_context(None))
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"<html", r.read().lower())
            self.assertIsNone(conn.sock.selected_alpn_protocol())
            first = conn.sock
            conn.request("GET", "/api/ice-servers")  # the same TLS session, now on the web side
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200, body)
            self.assertIs(conn.sock, first)
            urls = [u for s in json.loads(body)["iceServers"] for u in s["urls"]]
            self.assertIn("turns:%s:%d?transport=tcp" % (self.host, self.port), urls)
        finally:
            conn.close()

    def test_https_without_alpn_over_tls_1_2(self):
        ctx = tls_context(None)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=ctx)
        try:
            for path in ("/", "/api/ice-servers"):
                conn.request("GET", path)
                r = conn.getresponse()
                self.assertEqual(r.status, 200, path)
                r.read()
            self.assertEqual(conn.sock.version(), "TLSv1.2")
        finally:
            conn.close()

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_without_alpn(self):
        url = "https://%s:%d/api/ice-servers" % (self.host, self.port)
        p = subprocess.run(["curl", "--no-alpn", "-k", "-sS", "-v", "-o", "-", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("ALPN: offers", p.stderr)  # curl really offered no ALPN name
        self.assertIn("iceServers", p.stdout)

    def tls_without_alpn(self):
        raw = socket.create_connection((self.host, self.port), timeout=10)
        return tls_context(None).wrap_socket(raw, server_hostname="localhost")

    def read_head(self, s):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            self.assertTrue(chunk, head)
            head += chunk
        return head

    def test_a_request_line_split_over_records_without_alpn(self):
        with self.tls_without_alpn() as s:
            s.sendall(b"GE")  # one record: too little to tell TURN from HTTP
            time.sleep(0.3)
            s.sendall(b"T / HTTP/1.1\r\nHost: tern\r\nConnection: close\r\n\r\n")
            self.assertTrue(self.read_head(s).startswith(b"HTTP/1.1 200"))

    def test_a_request_in_several_records_at_once_without_alpn(self):
        # The request line, then the headers, as two records sent back to back: the second may
        # already be in tern's TLS buffers when the first decides the route, and must move too.
        for _ in range(5):
            with self.tls_without_alpn() as s:
                s.sendall(b"GET / HTTP/1.1\r\n")
                s.sendall(b"Host: tern\r\nConnection: close\r\n\r\n")
                self.assertTrue(self.read_head(s).startswith(b"HTTP/1.1 200"))

    def test_websocket_over_tls_without_alpn(self):
        with self.tls_without_alpn() as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: tern\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n")
            self.assertTrue(self.read_head(s).startswith(b"HTTP/1.1 101"))

    def test_stun_over_tls_without_alpn_stays_turn(self):
        with self.tls_without_alpn() as s:
            for _ in range(3):  # the connection stays TURN after its first message
                request, tid = binding_request()
                s.sendall(request)
                mtype, got, _, _ = parse(recv_frame(s, timeout=5))
                self.assertEqual((mtype, got), (0x0101, tid))

    def test_alpn_stun_turn_is_selected_for_turn(self):
        p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (self.host, self.port),
                            "-alpn", "stun.turn,http/1.1"], input="", stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertIn("ALPN protocol: stun.turn", p.stdout)

    def test_other_bytes_and_silence_are_closed(self):
        with socket.create_connection((self.host, self.port), timeout=5) as s:
            s.sendall(b"\x7f\x00garbage")
            self.assertEqual(s.recv(16), b"")
        with socket.create_connection((self.host, self.port), timeout=6) as s:
            started = time.time()
            self.assertEqual(s.recv(16), b"")  # handshake_timeout: 2 s
            self.assertLess(time.time() - started, 4.5)


if __name__ == "__main__":
    unittest.main()
