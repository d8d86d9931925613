"""One port for everything (`transport: any`): coturn's turnutils_uclient relays over plain TCP
and over TLS through it, HTTPS (ALPN http/1.1) and plain HTTP reach the demo page and
/api/ice-servers, a WebSocket upgrades over TLS, and anything else is closed."""
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
import unittest

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
