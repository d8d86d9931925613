"""tern behind a load balancer: HAProxy (Debian's haproxy) in front of tern's TCP and TLS
listeners sends PROXY protocol v1 and v2 headers from a trusted address, and in front of the
signaling endpoint adds X-Forwarded-For. tern must see the real client everywhere (XOR-MAPPED-
ADDRESS, `tern sessions`, per-source limits), relay for coturn's client through it, and close
connections whose header is missing, malformed or sent from a network it does not trust."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern, WithTern
from test_signaling import ws_connect, ws_recv, ws_send
from test_turn_interop import PEER_IP, free_udp_port, totals, turnutils_peer

PROXY = "127.0.0.9"  # the balancer's address towards tern: trusted
STRANGER = "127.0.0.8"  # another balancer, not trusted

CONFIG = """
relay: {address: 127.0.0.1, min_port: 45000, max_port: 45999, rfc5766_channels: true}
auth:
  users: [{name: alice, password: wonderland}]
  secrets: [proxy-secret]
peers: {allow: [127.0.0.2/32]}
connections: {trusted_proxies: [127.0.0.9/32], per_source_ip: 3, handshake_timeout: 3s}
signaling: {listen: "127.0.0.1:0", token: tok, connections_per_source_ip: 2}
"""


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HaProxy:
    """HAProxy in the foreground with one frontend per (name, backend line, mode)."""

    def __init__(self, routes):
        self.tmp = tempfile.TemporaryDirectory(prefix="tern-haproxy-")
        self.ports = {}
        lines = ["global", "  maxconn 500", "defaults", "  timeout connect 5s",
                 "  timeout client 60s", "  timeout server 60s"]
        for name, server, mode in routes:
            self.ports[name] = free_tcp_port()
            lines += ["frontend f_%s" % name, "  mode %s" % mode,
                      "  bind 127.0.0.1:%d" % self.ports[name], "  default_backend b_%s" % name]
            if mode == "http":
                lines += ["  option forwardfor", "  timeout tunnel 60s"]
            lines += ["backend b_%s" % name, "  mode %s" % mode]
            if mode == "http":
                lines += ["  http-reuse never"]
            lines += ["  server s %s" % server]
        self.path = os.path.join(self.tmp.name, "haproxy.cfg")
        with open(self.path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.path],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for port in self.ports.values():
            ok = sc.wait_until(lambda: self._listening(port), 10)
            if not ok:
                self.close()
                raise RuntimeError("haproxy did not listen on %d" % port)

    @staticmethod
    def _listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def addr(self, name):
        return ("127.0.0.1", self.ports[name])

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.tmp.cleanup()


def connect(addr, local="127.0.0.1", tls=False):
    s = socket.socket()
    s.bind((local, 0))
    s.settimeout(3)
    s.connect(addr)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s


def mapped(s):
    """Sends a Binding request on the stream; returns XOR-MAPPED-ADDRESS or None (closed)."""
    req, tid = sc.binding_request()
    try:
        s.sendall(req)
        reply = sc.recv_frame(s, 3)
    except OSError:
        return None
    if reply is None:
        return None
    _, _, attrs, _ = sc.parse(reply)
    return sc.xor_address(sc.find(attrs, 0x0020), tid)


def closed_without_answer(s, payload, timeout=3):
    try:
        s.sendall(payload)
        s.settimeout(timeout)
        return s.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@unittest.skipUnless(shutil.which("haproxy"), "haproxy not installed (scripts/setup.sh --test)")
class ProxyProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tern = Tern(CONFIG).__enter__()
        tcp = "127.0.0.1:%d" % cls.tern.addr("tcp")[1]
        tls = "127.0.0.1:%d" % cls.tern.addr("tls")[1]
        web = "127.0.0.1:%d" % cls.tern.addr("signaling")[1]
        try:
            cls.haproxy = HaProxy([
                ("v1", "%s send-proxy source %s" % (tcp, PROXY), "tcp"),
                ("v2", "%s send-proxy-v2 source %s" % (tcp, PROXY), "tcp"),
                ("tls", "%s send-proxy-v2 source %s" % (tls, PROXY), "tcp"),
                ("stranger", "%s send-proxy-v2 source %s" % (tcp, STRANGER), "tcp"),
                ("web", "%s source %s" % (web, PROXY), "http"),
            ])
        except Exception:
            cls.tern.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.close()
        cls.tern.__exit__(None, None, None)

    def refused(self):
        return self.tern.metric("tern_connections_refused_total", 'reason="proxy_header"')

    def test_the_client_behind_the_balancer_is_the_one_tern_sees(self):
        seen = {}
        for route, local, tls in (("v1", "127.0.0.5", False), ("v2", "127.0.0.6", False),
                                  ("tls", "127.0.0.7", True)):
            s = connect(self.haproxy.addr(route), local, tls)
            self.addCleanup(s.close)
            seen[route] = (mapped(s), s.getsockname())
        print("\n# through HAProxy: " + ", ".join(
            "%s %s:%d (client %s:%d)" % (r, m[0], m[1], c[0], c[1]) for r, (m, c) in seen.items()))
        for route, (m, client) in seen.items():
            # Without the header tern would answer with the balancer's 127.0.0.9 and its port.
            self.assertEqual(m, client, route)

    def test_an_allocation_through_the_balancer_is_the_clients(self):
        s = connect(self.haproxy.addr("v2"), "127.0.0.5")
        self.addCleanup(s.close)
        c = tc.TurnClient(self.tern.addr("tcp"), "alice", "wonderland", stream=s)
        self.assertEqual(c.allocate()[0], 0x0103)
        _, body, _ = self.tern.admin("sessions", "list", "--user", "alice")
        clients = [x["client"] for x in body["sessions"]]
        self.assertIn("%s:%d" % s.getsockname(), clients)

    def test_coturn_client_relays_through_the_balancer(self):
        peer_port = free_udp_port(PEER_IP)
        peer = turnutils_peer(peer_port)
        self.addCleanup(peer.wait, 10)
        self.addCleanup(peer.terminate)
        ip, port = self.haproxy.addr("v2")
        # Two clients from 127.0.0.1, within per_source_ip 3; the balancer's own address is
        # not held to it.
        p = subprocess.run(["turnutils_uclient", "-t", "-u", "alice", "-w", "wonderland",
                            "-p", str(port), "-n", "50", "-m", "2", "-l", "120",
                            "-e", PEER_IP, "-r", str(peer_port), ip],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        sent_recv, lost = totals(p.stdout)
        print("\n# turnutils_uclient -t through HAProxy send-proxy-v2: sent/received %s, lost %s"
              % (sent_recv, lost))
        self.assertEqual(sent_recv, (100, 100), p.stdout[-3000:])
        self.assertEqual(lost, 0, p.stdout[-3000:])

    def test_headers_are_refused_where_they_do_not_belong(self):
        before = self.refused()
        tcp = self.tern.addr("tcp")
        binding = sc.binding_request()[0]
        # From a balancer tern does not trust: closed, whatever follows.
        s = connect(self.haproxy.addr("stranger"))
        self.addCleanup(s.close)
        self.assertTrue(closed_without_answer(s, binding))
        # Directly, with a header: a client must not choose its own address.
        s = connect(tcp)
        self.addCleanup(s.close)
        self.assertTrue(closed_without_answer(
            s, b"PROXY TCP4 198.51.100.7 127.0.0.1 5000 3478\r\n" + binding))
        # From the trusted address without a header, or with a malformed one.
        for payload in (binding, b"PROXY TCP4 198.51.100.7 127.0.0.1 5000\r\n" + binding,
                        b"PROXY TCP4 198.51.100.7 127.0.0.1 5000 3478\n" + binding,
                        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04" + b"\0" * 4 + binding):
            s = connect(tcp, PROXY)
            self.addCleanup(s.close)
            self.assertTrue(closed_without_answer(s, payload), payload[:50])
        # A header that names an address, sent by hand from the trusted one, is believed.
        s = connect(tcp, PROXY)
        self.addCleanup(s.close)
        s.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.1 5000 3478\r\n")
        self.assertEqual(mapped(s), ("198.51.100.7", 5000))
        # Two connections naming the same client address and port: the second is refused.
        twin = connect(tcp, PROXY)
        self.addCleanup(twin.close)
        self.assertTrue(closed_without_answer(
            twin, b"PROXY TCP4 198.51.100.7 127.0.0.1 5000 3478\r\n" + binding))
        self.assertTrue(sc.wait_until(lambda: self.refused() >= before + 7, 5),
                        (before, self.refused()))

    def test_a_header_that_never_ends_is_closed_by_the_handshake_timeout(self):
        s = connect(self.tern.addr("tcp"), PROXY)
        self.addCleanup(s.close)
        s.sendall(b"PROXY TCP4 198.51.100.7 ")  # and nothing more
        s.settimeout(15)
        start = time.monotonic()
        self.assertEqual(s.recv(10), b"")
        self.assertLess(time.monotonic() - start, 6)  # connections.handshake_timeout: 3 s

    def test_per_source_limits_hold_the_clients_not_the_balancer(self):
        # per_source_ip 3: three clients at 127.0.0.11 are served, its fourth is refused, and a
        # client at 127.0.0.12 is served although the balancer now holds five connections.
        held = []
        for _ in range(3):
            s = connect(self.haproxy.addr("v2"), "127.0.0.11")
            held.append(s)
            self.addCleanup(s.close)
            self.assertIsNotNone(mapped(s))
        fourth = connect(self.haproxy.addr("v2"), "127.0.0.11")
        self.addCleanup(fourth.close)
        self.assertIsNone(mapped(fourth))
        other = connect(self.haproxy.addr("v2"), "127.0.0.12")
        self.addCleanup(other.close)
        self.assertEqual(mapped(other), other.getsockname())

    def test_signaling_trusts_x_forwarded_for_from_the_balancer_only(self):
        # connections_per_source_ip 2 for the signaling listener: through the balancer, each
        # WebSocket counts for the client X-Forwarded-For names.
        web = self.haproxy.addr("web")
        held = [ws_connect(web, local="127.0.0.21") for _ in range(2)]
        for s in held:
            self.addCleanup(s.close)
        with self.assertRaises(ConnectionError):
            self.addCleanup(ws_connect(web, local="127.0.0.21").close)
        other = ws_connect(web, local="127.0.0.22")
        self.addCleanup(other.close)
        ws_send(other, '{"type":"ping"}')
        self.assertIn("pong", ws_recv(other))
        # /api/ice-servers without the token is for loopback clients only: the forwarded
        # client decides when the balancer is trusted, and a stranger's header only hides one.
        ip, port = self.tern.addr("signaling")

        def status(local, xff):
            s = socket.create_connection((ip, port), timeout=5, source_address=(local, 0))
            self.addCleanup(s.close)
            head = "GET /api/ice-servers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            if xff:
                head += "X-Forwarded-For: %s\r\n" % xff
            s.sendall((head + "\r\n").encode())
            line = s.makefile("rb").readline()
            return int(line.split()[1]) if line else None

        self.assertEqual(status(PROXY, "198.51.100.7"), 401)  # a remote client: token needed
        self.assertEqual(status(PROXY, "127.0.0.1"), 200)     # a loopback client
        self.assertEqual(status(PROXY, "198.51.100.7, 127.0.0.1"), 200)  # only the last hop
        self.assertEqual(status(PROXY, "not-an-address"), None)  # refused: closed
        self.assertEqual(status(STRANGER, "127.0.0.1"), 401)  # untrusted: never loopback
        self.assertEqual(status(STRANGER, None), 200)


if __name__ == "__main__":
    unittest.main()


def udp_v2_header(client, server, command=0x21, family=0x12):
    """A PROXY v2 header for a UDP datagram over IPv4 from `client` to `server`."""
    body = socket.inet_aton(client[0]) + socket.inet_aton(server[0]) + \
        client[1].to_bytes(2, "big") + server[1].to_bytes(2, "big")
    return bytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                  command, family]) + len(body).to_bytes(2, "big") + body


class ProxiedSocket:
    """A UDP socket that puts a balancer's PROXY v2 header, naming `client`, on each datagram."""

    def __init__(self, sock, client, server):
        self.sock = sock
        self.header = udp_v2_header(client, server)

    def sendto(self, data, addr):
        return self.sock.sendto(self.header + data, addr)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class UdpProxyProtocolTest(WithTern, unittest.TestCase):
    """A UDP balancer that puts a PROXY v2 header on each datagram (as some cloud balancers do):
    tern believes it from trusted networks only and answers the named client through the
    balancer, without a header."""
    CLIENT = ("198.51.100.7", 4000)

    CONFIG = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.tern.addr("udp")

    def socket_on(self, ip):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, 0))
        self.addCleanup(s.close)
        return s

    def binding(self, sock, prefix=b""):
        req, tid = sc.binding_request()
        reply = sc.udp_exchange(self.server, prefix + req, sock=sock)
        if reply is None:
            return None
        _, _, attrs, _ = sc.parse(reply)
        return sc.xor_address(sc.find(attrs, 0x0020), tid)

    def test_the_named_client_is_answered_through_the_balancer(self):
        balancer = self.socket_on(PROXY)
        self.assertEqual(self.binding(balancer, udp_v2_header(self.CLIENT, self.server)),
                         self.CLIENT)
        # Without a header, from the balancer itself: its own address stands.
        self.assertEqual(self.binding(balancer), balancer.getsockname())

    def test_headers_from_untrusted_sources_or_malformed_are_dropped(self):
        stranger = self.socket_on(STRANGER)
        self.assertIsNone(self.binding(stranger, udp_v2_header(self.CLIENT, self.server)))
        balancer = self.socket_on(PROXY)
        good = udp_v2_header(self.CLIENT, self.server)
        for header in (good[:-3],                                        # cut short
                       udp_v2_header(self.CLIENT, self.server, family=0x11),  # TCP over UDP
                       udp_v2_header(self.CLIENT, self.server, command=0x22),  # no such command
                       b"PROXY UDP4 198.51.100.7 127.0.0.1 4000 3478\r\n"):   # version 1
            self.assertIsNone(self.binding(balancer, header), header)
        self.assertEqual(self.binding(balancer, good), self.CLIENT)

    def test_an_allocation_through_the_balancer_relays_for_the_named_client(self):
        peer = self.socket_on(PEER_IP)
        balancer = ProxiedSocket(self.socket_on(PROXY), self.CLIENT, self.server)
        client = tc.TurnClient(self.server, "alice", "wonderland", realm="test.local")
        client.sock.close()
        client.sock = balancer
        mtype, tid, attrs = client.allocate()
        self.assertEqual(mtype, 0x0103, tc.error_code(attrs))
        self.assertEqual(sc.xor_address(sc.find(attrs, 0x0020), tid), self.CLIENT)
        relayed = sc.xor_address(sc.find(attrs, 0x0016), tid)
        mtype, _ = client.create_permission(PEER_IP)
        self.assertEqual(mtype, 0x0108)
        data, source, mtype, back = client.exchange(peer, relayed, b"to the peer",
                                                    b"back to the client")
        self.assertEqual((data, source), (b"to the peer", relayed))
        self.assertEqual(mtype, tc.DATA_INDICATION)
        self.assertEqual(back, b"back to the client")
        code, body, _ = self.tern.admin("sessions", "list")
        self.assertEqual(code, 0)
        self.assertIn("198.51.100.7:4000", str(body))
