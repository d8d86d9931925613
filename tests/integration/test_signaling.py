"""Signaling listener on the real binary: the demo page and /api/ice-servers, and what it holds
under abuse (connection floods from one address, a member that stops reading, running out of
file descriptors) while TURN goes on answering."""
import base64
import json
import os
import socket
import struct
import time
import unittest
import urllib.error
import urllib.request

import stun_client as sc
from harness import Tern
from test_abuse import NOT_UNDER_SANITIZERS, connection_flood

CONFIG = """
auth: {secrets: [sig-secret]}
signaling: {listen: "127.0.0.1:0", ice_host: turn.example.org}
"""


class SignalingRoutesTest(unittest.TestCase):
    def ice_servers(self, t, query=""):
        ip, port = t.addr("signaling")
        url = "http://%s:%d/api/ice-servers%s" % (ip, port, query)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def test_ice_servers_use_the_configured_host_name(self):
        with Tern(CONFIG) as t:
            body = self.ice_servers(t)
            stun, turn = body["iceServers"]
            # A stun: URL of the same node, without credentials (no allocation is spent on it).
            self.assertEqual(stun["urls"], ["stun:turn.example.org:%d" % t.addr("udp")[1]])
            self.assertNotIn("username", stun)
            urls = turn["urls"]
            self.assertEqual(len(urls), 3)
            self.assertTrue(all(":" in u and "turn.example.org:" in u for u in urls), urls)
            self.assertTrue(any(u.startswith("turns:turn.example.org:") for u in urls))
            ip, port = t.addr("signaling")
            with urllib.request.urlopen("http://%s:%d/" % (ip, port), timeout=5) as r:
                self.assertIn(b"<html", r.read())
                self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")

    def test_each_visitor_gets_a_distinct_name(self):
        # One shared name would put every visitor under one per-user quota and one session name.
        with Tern(CONFIG) as t:
            names = [self.ice_servers(t)["iceServers"][1]["username"] for _ in range(20)]
            self.assertEqual(len(set(names)), 20, names)
            for n in names:
                self.assertRegex(n, r"^\d+:[0-9a-f]{16}$")
            # A backend may name its user; the name must not forge an expiry or a separator.
            self.assertRegex(self.ice_servers(t, "?user=alice.b@example-1")["iceServers"][1]
                             ["username"], r"^\d+:alice\.b@example-1$")
            for bad in ("?user=", "?user=a:b", "?user=" + "x" * 65, "?user=%20"):
                with self.assertRaises(urllib.error.HTTPError) as e:
                    self.ice_servers(t, bad)
                self.assertEqual(e.exception.code, 400, bad)

    def test_a_proxied_loopback_request_needs_the_token(self):
        # A reverse proxy on the tern host connects from loopback; the header it adds shows the
        # request is someone else's, so /api/ice-servers asks for the token as off loopback.
        with Tern(CONFIG.replace("ice_host:", "token: tok, ice_host:")) as t:
            ip, port = t.addr("signaling")
            url = "http://%s:%d/api/ice-servers" % (ip, port)
            for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
                req = urllib.request.Request(url, headers={header: "198.51.100.7"})
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(req, timeout=5)
                self.assertEqual(e.exception.code, 401, header)
                req = urllib.request.Request(
                    url, headers={header: "198.51.100.7", "Authorization": "Bearer tok"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    self.assertIn("iceServers", json.load(r))
            with urllib.request.urlopen(url, timeout=5) as r:  # direct from loopback: no token
                self.assertIn("iceServers", json.load(r))



def ws_connect(addr, local=None, rcvbuf=None, headers=""):
    """A WebSocket to /ws (RFC 6455 handshake by hand); raises ConnectionError if refused.
    `headers`: extra request header lines, each ending in CRLF."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if local:
        s.bind((local, 0))
    s.settimeout(3)
    s.connect(addr)
    key = base64.b64encode(os.urandom(16)).decode()
    try:
        s.sendall(("GET /ws HTTP/1.1\r\nHost: tern\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (key, headers)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                raise ConnectionError("closed before the handshake")
            head += chunk
    except OSError as e:
        s.close()
        raise ConnectionError(str(e))
    if not head.startswith(b"HTTP/1.1 101"):
        s.close()
        raise ConnectionError(head.decode(errors="replace"))
    return s


def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                            bytes([0x80 | 126]) + struct.pack("!H", n) if n < 65536 else
                            bytes([0x80 | 127]) + struct.pack("!Q", n))
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def ws_recv(s):
    """The next text message, or None when the server closed the connection."""
    def exactly(n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                raise ConnectionError
            out += chunk
        return out
    try:
        op, n = exactly(2)
        n &= 0x7F
        if n == 126:
            n = struct.unpack("!H", exactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", exactly(8))[0]
        payload = exactly(n)
    except (ConnectionError, OSError):
        return None
    return None if op & 0x0F == 8 else payload.decode()


def ws_join(addr, room, **kw):
    s = ws_connect(addr, **kw)
    ws_send(s, json.dumps({"type": "join", "room": room}))
    reply = json.loads(ws_recv(s))
    assert reply["type"] == "joined", reply
    return s, reply["id"]


class SignalingAbuseTest(unittest.TestCase):
    def binding_answered(self, t):
        return sc.udp_exchange(t.addr("udp"), sc.message(0x0001)[0]) is not None

    def test_one_address_is_held_to_its_connection_limit(self):
        config = CONFIG.replace('listen: "127.0.0.1:0"', 'listen: "127.0.0.1:0", connections_per_source_ip: 4')
        with Tern(config) as t:
            addr = t.addr("signaling")
            held = [ws_connect(addr) for _ in range(4)]
            for s in held:
                self.addCleanup(s.close)
            refused = 0
            for _ in range(20):
                try:
                    self.addCleanup(ws_connect(addr).close)
                except ConnectionError:
                    refused += 1
            other = ws_connect(addr, local="127.0.0.2")
            self.addCleanup(other.close)
            ws_send(held[0], '{"type":"ping"}')
            pong = ws_recv(held[0])
            print("\n# signaling, connections_per_source_ip 4: 4 held, %d of 20 more refused, "
                  "another address served, TURN answering: %s" % (refused, self.binding_answered(t)))
            self.assertEqual(refused, 20)
            self.assertEqual(json.loads(pong)["type"], "pong")
            self.assertTrue(self.binding_answered(t))
            held.pop().close()
            time.sleep(0.3)
            self.addCleanup(ws_connect(addr).close)  # a closed connection gives its slot back

    def test_a_member_that_stops_reading_is_disconnected(self):
        with Tern(CONFIG) as t:
            addr = t.addr("signaling")
            sender, _ = ws_join(addr, "stalled")
            self.addCleanup(sender.close)
            stalled, stalled_id = ws_join(addr, "stalled", rcvbuf=4096)
            self.addCleanup(stalled.close)
            ws_recv(sender)  # peer-joined
            offer = json.dumps({"type": "offer", "sdp": "x" * 60000})
            sent, bye = 0, None
            deadline = time.time() + 20
            sender.settimeout(0.05)
            while time.time() < deadline and bye is None:
                ws_send(sender, offer)  # 60 KB at the hub's rate limit; the other never reads
                sent += 1
                try:
                    while True:
                        m = ws_recv(sender)
                        if m is None:
                            break
                        if json.loads(m).get("type") == "bye":
                            bye = json.loads(m)
                            break
                except socket.timeout:
                    pass
                time.sleep(0.05)
            print("\n# signaling: a member that never reads was disconnected after %d offers of 60 KB "
                  "(%.1f MB) sent toward it" % (sent, sent * 0.06))
            self.assertIsNotNone(bye, "the stalled member's queue grew without bound")
            self.assertEqual(bye["id"], stalled_id)
            self.assertTrue(self.binding_answered(t))

    @NOT_UNDER_SANITIZERS
    def test_running_out_of_descriptors_does_not_spin(self):
        config = CONFIG.replace('listen: "127.0.0.1:0"', 'listen: "127.0.0.1:0", connections_per_source_ip: 0')
        with Tern(config, nofile=128) as t:
            addr = t.addr("signaling")
            flood, busy = connection_flood(t, addr)
            answered = self.binding_answered(t)
            print("\n# signaling flood of %d connections at RLIMIT_NOFILE 128: %.2f s of tern CPU in 2 s, "
                  "TURN answering: %s" % (len(flood), busy, answered))
            for s in flood:
                s.close()
            self.assertLess(busy, 0.5, "tern spins when the signaling listener runs out of descriptors")
            self.assertTrue(answered)
            time.sleep(1)
            with urllib.request.urlopen("http://%s:%d/" % addr, timeout=5) as r:
                self.assertEqual(r.status, 200, "the signaling listener did not come back")


if __name__ == "__main__":
    unittest.main()
