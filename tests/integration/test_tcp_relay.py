"""RFC 6062 TCP allocations through the real binary: coturn's turnutils_uclient in TCP relay mode
(-T, -T -S, -P), and a Python client for what the tool does not check (bytes both ways, peers
that connect in, refusals, closing)."""
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import unittest

import stun_client as sc
from harness import WithTern
from turn_client import TurnClient, error_code, xor_peer
from test_turn_interop import totals

CONFIG = """
relay: {address: 127.0.0.1, min_port: 46000, max_port: 47999, tcp: true}
limits: {tcp_connections_per_allocation: 4}
auth:
  users: [{name: alice, password: wonderland}, {name: bob, password: builder}]
peers: {allow: [127.0.0.2/32]}
"""
PEER_IP = "127.0.0.2"  # allowed above; 127.0.0.3 is not
ALLOCATE, REFRESH, CREATE_PERMISSION = 0x003, 0x004, 0x008
CONNECT, CONNECTION_BIND, CONNECTION_ATTEMPT = 0x00A, 0x00B, 0x01C
TCP = sc.attr(0x0019, b"\x06\0\0\0")


def uclient(tern, flags, messages=100, clients=4):
    transport = "tls" if "-S" in flags else "tcp"
    ip, port = tern.addr(transport)
    cmd = ["turnutils_uclient", *flags, "-u", "alice", "-w", "wonderland", "-p", str(port),
           "-n", str(messages), "-m", str(clients), "-l", "120", ip]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
    # The tool prints a line per send it tries before its data connections are bound.
    return "\n".join(l for l in out.decode(errors="replace").splitlines()
                     if "Uninitialized atc" not in l)


class Control:
    """A TCP allocation on a control connection, signing with the control connection's nonce."""

    def __init__(self, tern, user="alice", password="wonderland"):
        self.server = tern.addr("tcp")
        self.sock = socket.create_connection(self.server, timeout=5)
        self.client = TurnClient(self.server, user, password, stream=self.sock)
        mtype, _, attrs = self.client.request(ALLOCATE, TCP)
        assert mtype == 0x0103, (hex(mtype or 0), error_code(attrs))
        self.relayed = sc.xor_address(sc.find(attrs, 0x0016), _)

    def request(self, method, attrs_for_tid, sock=None):
        sock = sock or self.sock
        tid = os.urandom(12)
        sock.sendall(self.client.signed(method, attrs_for_tid(tid), tid))
        return self.read(sock)

    def read(self, sock=None, timeout=5):
        try:
            frame = sc.recv_frame(sock or self.sock, timeout)
        except socket.timeout:
            frame = None
        if frame is None:
            return None, None
        mtype, _, attrs, _ = sc.parse(frame)
        return mtype, attrs

    def connect(self, ip, port):
        return self.request(CONNECT, lambda tid: sc.attr(0x0012, xor_peer(ip, port, tid)))

    def permit(self, ip):
        return self.request(CREATE_PERMISSION, lambda tid: sc.attr(0x0012, xor_peer(ip, 0, tid)))

    def bind(self, cid):
        """A new data connection bound to `cid`: (socket, response type, error code). Signed
        with the control connection's nonce, and once more with the data connection's own when
        tern answers 438 (as it does when the connection is not this client's to take)."""
        data = socket.create_connection(self.server, timeout=5)
        body = lambda tid: sc.attr(0x002A, cid)
        mtype, attrs = self.request(CONNECTION_BIND, body, sock=data)
        if attrs is not None and error_code(attrs) == 438:
            own = self.client.nonce
            self.client.learn(attrs)
            mtype, attrs = self.request(CONNECTION_BIND, body, sock=data)
            self.client.nonce = own
        return data, mtype, error_code(attrs) if attrs is not None else None

    def close(self):
        self.sock.close()


def listener(ip):
    s = socket.socket()
    s.bind((ip, 0))
    s.listen(8)
    s.settimeout(5)
    return s


def pump(sock, payload):
    threading.Thread(target=sock.sendall, args=(payload,), daemon=True).start()


def read_exactly(sock, n, timeout=10):
    sock.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def closed(sock, timeout=5):
    """True when the other end closed `sock` (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class UclientTcpRelayTest(WithTern, unittest.TestCase):
    """coturn's own client: pairs of clients reach each other through their TCP relays."""

    CONFIG = CONFIG

    def relay_all(self, flags):
        out = uclient(self.tern, flags)
        sent_recv, lost = totals(out)
        self.assertIsNotNone(sent_recv, out[-3000:])
        self.assertEqual(sent_recv, (400, 400), out[-3000:])
        self.assertEqual(lost, 0, out[-3000:])
        print("\n  uclient %s: %d/%d messages relayed, %d lost" % (" ".join(flags), sent_recv[1],
                                                                   sent_recv[0], lost))

    def test_connect_and_connection_bind_over_tcp(self):
        self.relay_all(["-T"])

    def test_connect_and_connection_bind_over_tls(self):
        self.relay_all(["-T", "-S"])

    def test_passive_peer_connects_to_the_relayed_address(self):
        # -P: half the tool's clients are plain TCP peers that connect to the others' relayed
        # addresses (ConnectionAttempt, then ConnectionBind). The tool counts only what the
        # allocating clients receive, so every message the peers sent arriving is half the total.
        out = uclient(self.tern, ["-P", "-L", PEER_IP])
        sent_recv, _ = totals(out)
        self.assertIsNotNone(sent_recv, out[-3000:])
        self.assertEqual(sent_recv, (400, 200), out[-3000:])
        print("\n  uclient -P: the peers' %d messages all reached the clients" % sent_recv[1])


class TcpRelayTest(WithTern, unittest.TestCase):
    CONFIG = CONFIG

    def setUp(self):
        self.control = Control(self.tern)
        self.addCleanup(self.control.close)

    def connected_pair(self):
        """Connect to a peer of ours and bind: (client data socket, peer socket)."""
        peer = listener(PEER_IP)
        self.addCleanup(peer.close)
        mtype, attrs = self.control.connect(PEER_IP, peer.getsockname()[1])
        self.assertEqual(mtype, 0x010A, error_code(attrs))
        cid = sc.find(attrs, 0x002A)
        self.assertEqual(len(cid), 4)
        theirs, source = peer.accept()
        self.addCleanup(theirs.close)
        self.assertEqual(source, self.control.relayed)  # from the relayed transport address
        data, mtype, code = self.control.bind(cid)
        self.addCleanup(data.close)
        self.assertEqual(mtype, 0x010B, code)
        return data, theirs

    def relayed(self, leg, direction):
        return self.tern.metric("tern_relayed_bytes_total",
                                'direction="%s",leg="%s"' % (direction, leg))

    def test_bytes_cross_unchanged_both_ways(self):
        data, peer = self.connected_pair()
        legs = [("client", "received"), ("peer", "sent"), ("peer", "received"), ("client", "sent")]
        before = [self.relayed(*leg) for leg in legs]
        up = os.urandom(1 << 20)
        down = os.urandom(1 << 20)
        pump(data, up)
        pump(peer, down)
        self.assertEqual(read_exactly(peer, len(up)), up)
        self.assertEqual(read_exactly(data, len(down)), down)
        # The copied bytes count as relayed traffic, each way (at least: other tests run too).
        for (leg, direction), was in zip(legs, before):
            self.assertGreaterEqual(self.relayed(leg, direction) - was, 1 << 20, (leg, direction))

    def test_closing_one_side_closes_the_other(self):
        data, peer = self.connected_pair()
        peer.sendall(b"last words")
        peer.close()
        self.assertEqual(read_exactly(data, 10), b"last words")
        self.assertTrue(closed(data))
        data2, peer2 = self.connected_pair()
        data2.close()
        self.assertTrue(closed(peer2))

    def test_peer_with_permission_gets_a_connection_attempt(self):
        self.assertEqual(self.control.permit(PEER_IP)[0], 0x0108)
        peer = socket.create_connection(self.control.relayed, timeout=5,
                                        source_address=(PEER_IP, 0))
        self.addCleanup(peer.close)
        peer.sendall(b"sent before the bind")
        mtype, attrs = self.control.read()
        self.assertEqual(mtype, CONNECTION_ATTEMPT)
        self.assertEqual(sc.xor_address(sc.find(attrs, 0x0012), bytes(12)), peer.getsockname())
        cid = sc.find(attrs, 0x002A)
        data, mtype, code = self.control.bind(cid)
        self.addCleanup(data.close)
        self.assertEqual(mtype, 0x010B, code)
        self.assertEqual(read_exactly(data, 20), b"sent before the bind")
        data.sendall(b"answer")
        self.assertEqual(read_exactly(peer, 6), b"answer")

    def test_peer_without_permission_is_closed_and_not_announced(self):
        peer = socket.create_connection(self.control.relayed, timeout=5,
                                        source_address=(PEER_IP, 0))
        self.addCleanup(peer.close)
        self.assertTrue(closed(peer))
        self.assertEqual(self.control.read(timeout=0.5), (None, None))

    def test_refusals(self):
        denied = listener("127.0.0.3")
        self.addCleanup(denied.close)
        mtype, attrs = self.control.connect("127.0.0.3", denied.getsockname()[1])
        self.assertEqual(error_code(attrs), 403)
        denied.settimeout(0.5)
        self.assertRaises(socket.timeout, denied.accept)  # no SYN reached it
        self.assertEqual(error_code(self.control.connect("169.254.169.254", 80)[1]), 403)
        gone = listener(PEER_IP)
        port = gone.getsockname()[1]
        gone.close()
        self.assertEqual(error_code(self.control.connect(PEER_IP, port)[1]), 447)
        peer = listener(PEER_IP)
        self.addCleanup(peer.close)
        self.assertEqual(self.control.connect(PEER_IP, peer.getsockname()[1])[0], 0x010A)
        self.assertEqual(error_code(self.control.connect(PEER_IP, peer.getsockname()[1])[1]), 446)

    def test_a_peer_that_never_answers_is_447_after_30_seconds(self):
        """RFC 6062 §5.2: a Connect whose peer never completes the handshake fails with 447 once
        30 s have passed. The peer listens with a full accept queue, so its SYNs are dropped."""
        blackhole = socket.socket()
        blackhole.bind((PEER_IP, 0))
        blackhole.listen(0)
        self.addCleanup(blackhole.close)
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            self.addCleanup(filler.close)
            try:
                filler.connect(blackhole.getsockname())
            except BlockingIOError:
                pass
        time.sleep(0.2)
        started = time.time()
        tid = os.urandom(12)
        self.control.sock.sendall(self.control.client.signed(
            CONNECT, sc.attr(0x0012, xor_peer(PEER_IP, blackhole.getsockname()[1], tid)), tid))
        mtype, attrs = self.control.read(timeout=45)
        waited = time.time() - started
        self.assertEqual((mtype, error_code(attrs)), (0x011A, 447))
        self.assertGreater(waited, 29)
        self.assertLess(waited, 40)

    def test_connection_bind_refusals(self):
        peer = listener(PEER_IP)
        self.addCleanup(peer.close)
        _, attrs = self.control.connect(PEER_IP, peer.getsockname()[1])
        cid = sc.find(attrs, 0x002A)
        bob = Control(self.tern, "bob", "builder")
        self.addCleanup(bob.close)
        data, mtype, code = bob.bind(cid)  # bob's own valid login, alice's connection
        data.close()
        self.assertEqual(code, 400)
        wrong = bytes(b ^ 0xFF for b in cid)
        data, mtype, code = self.control.bind(wrong)
        data.close()
        self.assertEqual(code, 400)
        data, mtype, code = self.control.bind(cid)
        data.close()
        self.assertEqual(mtype, 0x010B)  # still alice's to take

    def test_deleting_the_allocation_closes_its_connections(self):
        data, peer = self.connected_pair()
        mtype, _ = self.control.request(REFRESH, lambda tid: sc.attr(0x000D, struct.pack("!I", 0)))
        self.assertEqual(mtype, 0x0104)
        self.assertTrue(closed(data))
        self.assertTrue(closed(peer))

    def test_per_allocation_limit(self):
        peers = [listener(PEER_IP) for _ in range(5)]
        for p in peers:
            self.addCleanup(p.close)
        codes = []
        for p in peers:
            mtype, attrs = self.control.connect(PEER_IP, p.getsockname()[1])
            codes.append(200 if mtype == 0x010A else error_code(attrs))
        self.assertEqual(codes, [200, 200, 200, 200, 508])


if __name__ == "__main__":
    unittest.main()
