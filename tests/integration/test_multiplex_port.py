"""relay.multiplex_port: every UDP allocation of a worker relays through one socket, and each
peer's datagrams reach the allocation that sent to that peer, against the real binary."""
import shutil
import socket
import struct
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern
from test_turn_interop import PEER_IP, free_udp_port, totals, turnutils_peer, uclient

CHANNEL = 0x4001


def config(port):
    return """
relay: {address: 127.0.0.1, multiplex_port: %d, min_port: 45100, max_port: 45199,
        rfc5766_channels: true}
auth:
  users: [{name: alice, password: wonderland}]
peers: {allow: [127.0.0.0/8]}
limits: {allocations_per_user: 100}
""" % port


def free_port_pair():
    """An even port P with P and P + 2 free on 127.0.0.1 (the two workers' shared sockets)."""
    for _ in range(50):
        port = free_udp_port("127.0.0.1") & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
                s.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port + 2))
            return port
        except OSError:
            continue
    raise RuntimeError("no free even port P with P + 2 free")


def peer_socket(ip="127.0.0.2"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(2)
    return s


class MultiplexPortTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port_pair()
        cls.tern = Tern(config(cls.port)).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def test_the_banner_names_the_shared_ports(self):
        self.assertIn("relaying udp through one socket per worker, port %d, %d "
                      "(relay.multiplex_port), advertised as 127.0.0.1\n"
                      % (self.port, self.port + 2), "".join(self.tern.output))
        self.assertIn("relay offload: off (relay.multiplex_port)\n", "".join(self.tern.output))

    def client(self):
        c = tc.TurnClient(self.tern.addr("udp"), "alice", "wonderland")
        self.addCleanup(c.close)
        mtype, tid, attrs = c.allocate()
        self.assertEqual(mtype, 0x0103, attrs)
        relayed = sc.xor_address(sc.find(attrs, 0x0016), tid)
        self.assertEqual(relayed[0], "127.0.0.1")
        self.assertIn(relayed[1], (self.port, self.port + 2))  # its worker's shared socket
        return c, relayed

    def peer(self, ip="127.0.0.2"):
        p = peer_socket(ip)
        self.addCleanup(p.close)
        return p

    def drops(self, reason):
        return self.tern.metric("tern_dropped_packets_total", 'reason="%s"' % reason)

    def test_each_peer_answers_the_allocation_that_sent_to_it(self):
        pairs = [self.client() for _ in range(6)]
        self.assertLess(len({r for _, r in pairs}), len(pairs))  # some share a relayed address
        peers = [self.peer() for _ in pairs]
        for i, ((c, relayed), p) in enumerate(zip(pairs, peers)):
            self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
            up, down = b"up-%d" % i, b"down-%d" % i
            data, source, mtype, got = c.exchange(p, relayed, up, down)
            self.assertEqual((data, source), (up, relayed))
            self.assertEqual((mtype, got), (0x0017, down))
        # Again, all peers first, then all clients: nobody gets another's answer.
        for i, ((c, relayed), p) in enumerate(zip(pairs, peers)):
            p.sendto(b"again-%d" % i, relayed)
        for i, (c, _) in enumerate(pairs):
            _, _, attrs, _ = c.receive()
            self.assertEqual(sc.find(attrs, 0x0013), b"again-%d" % i)

    def test_channel_data_comes_back_on_the_channel(self):
        c, relayed = self.client()
        p = self.peer()
        self.assertEqual(c.channel_bind("127.0.0.2", p.getsockname()[1], CHANNEL), 0x0109)
        c.sock.sendto(struct.pack("!HH", CHANNEL, 5) + b"hello" + b"\0\0\0", c.server)
        data, source = p.recvfrom(100)
        self.assertEqual((data, source), (b"hello", relayed))
        p.sendto(b"world", relayed)
        c.sock.settimeout(2)
        frame = c.sock.recv(100)
        self.assertEqual(frame[:4], struct.pack("!HH", CHANNEL, 5))
        self.assertEqual(frame[4:9], b"world")

    def test_a_peer_in_use_by_one_allocation_is_refused_to_another(self):
        (a, relayed_a), (b, relayed_b) = self.client(), self.client()
        p = self.peer()
        ip, port = p.getsockname()
        for c in (a, b):
            self.assertEqual(c.create_permission(ip)[0], 0x0108)
        a.send_indication(ip, port, b"from-a")
        self.assertEqual(p.recvfrom(100)[0], b"from-a")
        denied = self.drops("denied_peer")
        b.send_indication(ip, port, b"from-b")
        p.settimeout(0.5)
        if relayed_a == relayed_b:  # one socket: b may not take a's peer
            with self.assertRaises(socket.timeout):
                p.recvfrom(100)
            self.assertEqual(self.drops("denied_peer"), denied + 1)
        else:  # two workers' sockets: the peer tells them apart itself
            self.assertEqual(p.recvfrom(100)[0], b"from-b")
        # Once a's allocation is gone, b may.
        self.assertEqual(a.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)
        b.send_indication(ip, port, b"from-b-2")
        p.settimeout(2)
        self.assertEqual(p.recvfrom(100)[0], b"from-b-2")
        p.sendto(b"to-b", relayed_b)
        _, _, attrs, _ = b.receive()
        self.assertEqual(sc.find(attrs, 0x0013), b"to-b")

    def test_the_claimed_peers_gauge_follows_sends_and_closes(self):
        gauge = "tern_relay_multiplexed_peers"
        c, _ = self.client()
        peers = [self.peer() for _ in range(3)]
        self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
        before = self.tern.metric(gauge)
        for i, p in enumerate(peers):
            c.send_indication("127.0.0.2", p.getsockname()[1], b"claim-%d" % i)
            p.settimeout(2)
            self.assertEqual(p.recvfrom(100)[0], b"claim-%d" % i)
        self.assertEqual(self.tern.metric(gauge), before + 3)
        c.send_indication("127.0.0.2", peers[0].getsockname()[1], b"again")  # claimed already
        self.assertEqual(peers[0].recvfrom(100)[0], b"again")
        self.assertEqual(self.tern.metric(gauge), before + 3)
        self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)
        self.assertEqual(self.tern.metric(gauge), before)  # the allocation's claims end with it

    def test_another_port_of_a_known_peer_ip_and_an_unknown_peer(self):
        c, relayed = self.client()
        p = self.peer("127.0.0.5")
        self.assertEqual(c.create_permission("127.0.0.5")[0], 0x0108)
        c.send_indication("127.0.0.5", p.getsockname()[1], b"hi")
        self.assertEqual(p.recvfrom(100)[0], b"hi")
        # The peer answers from another port (one IP, one allocation that knows it): delivered.
        other = self.peer("127.0.0.5")
        other.sendto(b"other-port", relayed)
        _, _, attrs, _ = c.receive()
        self.assertEqual(sc.find(attrs, 0x0013), b"other-port")
        # A peer no allocation sent to: dropped, and counted.
        unknown = self.peer("127.0.0.6")
        before = self.drops("no_permission")
        unknown.sendto(b"who", relayed)
        self.assertIsNone(c.receive(timeout=0.5))
        deadline = time.monotonic() + 3
        while self.drops("no_permission") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.drops("no_permission"), before + 1)

    def test_even_port_is_kept_reserving_the_next_port_and_dont_fragment_are_refused(self):
        c = tc.TurnClient(self.tern.addr("udp"), "alice", "wonderland")
        self.addCleanup(c.close)
        mtype, tid, attrs = c.allocate(sc.attr(0x0018, b"\x00"))  # EVEN-PORT
        self.assertEqual(mtype, 0x0103, attrs)
        self.assertEqual(sc.xor_address(sc.find(attrs, 0x0016), tid)[1] % 2, 0)
        d = tc.TurnClient(self.tern.addr("udp"), "alice", "wonderland")
        self.addCleanup(d.close)
        mtype, _, attrs = d.allocate(sc.attr(0x0018, b"\x80"))  # EVEN-PORT, R bit
        self.assertEqual((mtype, tc.error_code(attrs)), (0x0113, 508))
        # DONT-FRAGMENT: one socket for all cannot set DF for one allocation's datagrams.
        mtype, _, attrs = d.allocate(sc.attr(0x001A, b""))
        self.assertEqual((mtype, tc.error_code(attrs)), (0x0113, 420))

    @unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
    def test_turnutils_uclient_relays_through_it(self):
        peer_port = free_udp_port(PEER_IP)
        peer = turnutils_peer(peer_port)
        self.addCleanup(peer.wait, 10)
        self.addCleanup(peer.terminate)
        time.sleep(0.3)
        out = uclient(self.tern, ["-c"], clients=1, peer_port=peer_port)  # -c: no RTCP pair
        self.assertEqual(totals(out), ((50, 50), 0), out[-3000:])


class MultiplexPortStartTest(unittest.TestCase):
    def test_a_taken_port_stops_the_start_with_its_name(self):
        import subprocess
        from harness import TERN
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            port = free_port_pair()
            taken.bind(("127.0.0.1", port))
            t = Tern(config(port))  # writes the config file; started here, not by Tern
            self.addCleanup(t.tmp.cleanup)
            p = subprocess.run([TERN, "serve", "--config", t.config_path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("relay.multiplex_port: cannot bind 127.0.0.1:%d" % port, p.stdout)


if __name__ == "__main__":
    unittest.main()
