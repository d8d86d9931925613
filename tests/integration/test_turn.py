"""TURN behaviours checked with tern's own test client against the real binary on loopback."""
import signal
import socket
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern, WithTern

CONFIG = """
relay: {address: 127.0.0.1, public_address: 203.0.113.9, min_port: 45000, max_port: 45003}
auth:
  users: [{name: alice, password: wonderland}]
peers: {allow: [127.0.0.2/32]}
limits: {allocations_per_user: 100}
"""


class TurnTest(WithTern, unittest.TestCase):
    CONFIG = CONFIG

    def client(self):
        c = tc.TurnClient(self.tern.addr("udp"), "alice", "wonderland")
        self.addCleanup(c.close)
        return c

    def test_public_address_is_advertised(self):
        c = self.client()
        mtype, tid, attrs = c.allocate()
        self.assertEqual(mtype, 0x0103, attrs)
        ip, port = sc.xor_address(sc.find(attrs, 0x0016), tid)
        self.assertEqual(ip, "203.0.113.9")
        self.assertTrue(45000 <= port <= 45003)
        self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)

    def test_relay_ports_are_never_leaked(self):
        # Four ports in the range: allocating and deleting many times more must keep working.
        for i in range(12):
            c = tc.TurnClient(self.tern.addr("udp"), "alice", "wonderland")
            mtype, _, attrs = c.allocate()
            self.assertEqual(mtype, 0x0103, "round %d: %r" % (i, attrs))
            mtype, _, _ = c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
            self.assertEqual(mtype, 0x0104)
            c.close()

    def test_full_port_range_gives_508(self):
        clients = [self.client() for _ in range(5)]
        codes = []
        for c in clients:
            mtype, _, attrs = c.allocate()
            codes.append(tc.error_code(attrs) if mtype == 0x0113 else 200)
        self.assertEqual(codes, [200, 200, 200, 200, 508])
        for c in clients[:4]:
            c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))

    def test_icmp_from_peer_reaches_the_client(self):
        c = self.client()
        self.assertEqual(c.allocate()[0], 0x0103)
        self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.2", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there now: the kernel answers port unreachable
        c.send_indication("127.0.0.2", port, b"hello")
        got = c.receive()
        self.assertIsNotNone(got, "no Data indication with ICMP")
        mtype, tid, attrs, _ = got
        self.assertEqual(mtype, tc.DATA_INDICATION)
        self.assertEqual(sc.xor_address(sc.find(attrs, 0x0012), tid), ("127.0.0.2", port))
        icmp = sc.find(attrs, 0x8004)
        self.assertIsNotNone(icmp)
        self.assertEqual((icmp[2], icmp[3]), (3, 3))  # destination unreachable, port unreachable
        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))

    def test_send_and_data_indications(self):
        c = self.client()
        self.assertEqual(c.allocate()[0], 0x0103)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(peer.close)
        peer.bind(("127.0.0.2", 0))
        peer.settimeout(2)
        c.send_indication("127.0.0.2", peer.getsockname()[1], b"dropped")  # no permission yet
        self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
        c.send_indication("127.0.0.2", peer.getsockname()[1], b"ping")
        data, relay = peer.recvfrom(100)
        self.assertEqual(data, b"ping")
        peer.sendto(b"pong", relay)
        mtype, tid, attrs, _ = c.receive()
        self.assertEqual(mtype, tc.DATA_INDICATION)
        self.assertEqual(sc.find(attrs, 0x0013), b"pong")
        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))

    def test_a_burst_queued_while_tern_is_stopped_is_read_to_the_end(self):
        # 300 datagrams wait on the relay socket at once: more than one wake-up reads (8 rounds
        # of 16), so the rest arrive only if the socket is reported again while still readable.
        c = self.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.assertEqual(c.allocate()[0], 0x0103)
        self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(peer.close)
        peer.bind(("127.0.0.2", 0))
        c.send_indication("127.0.0.2", peer.getsockname()[1], b"where")
        peer.settimeout(2)
        _, relay = peer.recvfrom(100)
        self.tern.proc.send_signal(signal.SIGSTOP)
        try:
            for i in range(300):
                peer.sendto(b"burst-%03d" % i, relay)
        finally:
            self.tern.proc.send_signal(signal.SIGCONT)
        got = []
        while len(got) < 300:
            r = c.receive(timeout=2.0)
            if r is None:
                break
            if r[0] == tc.DATA_INDICATION:
                got.append(sc.find(r[2], 0x0013))
        self.assertEqual(got, [b"burst-%03d" % i for i in range(300)])
        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))

    def test_dont_fragment_is_supported(self):
        c = self.client()
        mtype, _, attrs = c.allocate(sc.attr(0x001A, b""))
        self.assertEqual(mtype, 0x0103, attrs)
        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))

class CredentialSourcesTest(unittest.TestCase):
    def test_users_file_from_tern_key_and_secrets_from_the_environment(self):
        import base64, hashlib, hmac, os, subprocess, tempfile, time
        from harness import TERN
        line = subprocess.run([TERN, "key", "--user", "carol", "--realm", "test.local"],
                              input="s3cret\n", stdout=subprocess.PIPE, text=True,
                              timeout=30).stdout
        with tempfile.NamedTemporaryFile("w", suffix=".users", delete=False) as f:
            f.write("# from tern key\n" + line)
        self.addCleanup(os.unlink, f.name)
        os.environ["TERN_TEST_SECRETS"] = "envsecret\n"
        self.addCleanup(os.environ.pop, "TERN_TEST_SECRETS")
        extra = CONFIG.replace("auth:\n", "auth:\n  users_file: %s\n  secrets_env: TERN_TEST_SECRETS\n"
                               % f.name)
        with Tern(extra) as t:
            c = tc.TurnClient(t.addr("udp"), "carol", "s3cret")
            self.assertEqual(c.allocate()[0], 0x0103)
            c.close()
            user = "%d:dave" % (time.time() + 600)
            password = base64.b64encode(hmac.new(b"envsecret", user.encode(),
                                                 hashlib.sha1).digest()).decode()
            c = tc.TurnClient(t.addr("udp"), user, password)
            self.assertEqual(c.allocate()[0], 0x0103)
            c.close()


class JsonLogTest(unittest.TestCase):
    def test_allocation_events_are_json_lines_without_secrets(self):
        import json
        with Tern(CONFIG + "log: {level: info, format: json}\n") as t:
            c = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            client_port = c.sock.getsockname()[1]
            try:
                self.assertEqual(c.allocate()[0], 0x0103)
                self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)
            finally:
                c.close()
            self.assertTrue(sc.wait_until(
                lambda: any("allocation_deleted" in l for l in t.output), 5))
        events = [json.loads(l) for l in t.output if l.startswith("{")]
        names = [e["event"] for e in events]
        self.assertIn("started", names)
        created = [e for e in events if e["event"] == "allocation_created"]
        deleted = [e for e in events if e["event"] == "allocation_deleted"]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["user"], "alice")
        self.assertEqual(created[0]["client"], "127.0.0.1:%d" % client_port)
        self.assertEqual(deleted[0]["session"], created[0]["session"])
        self.assertFalse(any("wonderland" in l for l in t.output), "password in the logs")


def unauthenticated_allocate():
    """An Allocate (UDP) without MESSAGE-INTEGRITY, with a fresh transaction ID."""
    return sc.message(0x0003, sc.attr(0x0019, b"\x11\0\0\0"))[0]


class RateLimitTest(unittest.TestCase):
    def start_limited(self, extra=""):
        """tern with 5 unauthenticated replies per second per source (bursts of 10)."""
        t = Tern(extra + CONFIG.replace("allocations_per_user: 100", "allocations_per_user: 100, "
                                "unauthenticated_replies_per_second: 5, "
                                "unauthenticated_reply_burst: 10")).__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        return t

    def test_unauthenticated_replies_are_rate_limited(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(("127.0.0.3", 0))
        t = self.start_limited()
        s.settimeout(0.5)
        for _ in range(100):
            s.sendto(unauthenticated_allocate(), t.addr("udp"))
        replies = 0
        try:
            while True:
                s.recv(1000)
                replies += 1
        except socket.timeout:
            pass
        # 5 per second with bursts of 10: a flood of 100 gets about 10 answers, not 100.
        self.assertGreaterEqual(replies, 5)
        self.assertLessEqual(replies, 20)
        # Binding is never limited.
        self.assertIsNotNone(sc.udp_exchange(t.addr("udp"), sc.binding_request()[0]))

    def test_limit_holds_across_workers(self):
        # One source IP from 60 ports: SO_REUSEPORT spreads them over the harness's two workers,
        # which share one budget (bursts of 10): the flood gets about 10 answers, not 10 each.
        t = self.start_limited("steering: {mode: hash}\n")
        socks = []
        for _ in range(60):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(s.close)
            s.bind(("127.0.0.4", 0))
            s.settimeout(0.05)
            socks.append(s)
        for s in socks:
            s.sendto(unauthenticated_allocate(), t.addr("udp"))
        time.sleep(0.3)
        replies = 0
        for s in socks:
            try:
                s.recv(1000)
                replies += 1
            except socket.timeout:
                pass
        self.assertGreaterEqual(replies, 5)
        self.assertLessEqual(replies, 14)



class NoCoalescingTest(unittest.TestCase):
    def test_relays_with_coalescing_off(self):
        # coalesce_us: 0 runs each worker's io_context directly (no sleeps between wake-ups).
        with Tern("coalesce_us: 0\n" + CONFIG) as t:
            c = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            self.addCleanup(c.close)
            self.assertEqual(c.allocate()[0], 0x0103)
            self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
            peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(peer.close)
            peer.bind(("127.0.0.2", 0))
            peer.settimeout(2)
            for i in range(20):
                c.send_indication("127.0.0.2", peer.getsockname()[1], b"ping %d" % i)
                data, relay = peer.recvfrom(100)
                self.assertEqual(data, b"ping %d" % i)
                peer.sendto(b"pong %d" % i, relay)
                mtype, tid, attrs, _ = c.receive()
                self.assertEqual(mtype, tc.DATA_INDICATION)
                self.assertEqual(sc.find(attrs, 0x0013), b"pong %d" % i)


class Ipv6ClientTest(unittest.TestCase):
    def test_allocate_without_family_over_ipv6_gets_ipv4(self):
        extra = CONFIG.replace("public_address: 203.0.113.9, ", "")
        with Tern(extra, listen=[("udp", "::1")]) as t:
            c = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            try:
                mtype, tid, attrs = c.allocate()
                self.assertEqual(mtype, 0x0103, attrs)
                ip, _ = sc.xor_address(sc.find(attrs, 0x0016), tid)
                self.assertEqual(ip, "127.0.0.1")
                mapped = sc.xor_address(sc.find(attrs, 0x0020), tid)
                self.assertEqual(mapped, c.sock.getsockname()[:2])
            finally:
                c.close()



class ExtraRelayAddressesTest(unittest.TestCase):
    """relay.extra_addresses: each IP has the whole port range, allocations spread over them,
    and data is relayed from whichever IP the client got."""

    CONFIG = """
relay: {address: 127.0.0.1, extra_addresses: [127.0.1.1, 127.0.1.2], min_port: 45200, max_port: 45201}
auth: {users: [{name: alice, password: wonderland}]}
peers: {allow: [127.0.0.2/32]}
limits: {allocations_per_user: 100}
"""

    def test_six_allocations_on_three_ips_then_508(self):
        with Tern(self.CONFIG) as t:
            clients = [tc.TurnClient(t.addr("udp"), "alice", "wonderland") for _ in range(7)]
            for c in clients:
                self.addCleanup(c.close)
            relayed, codes = [], []
            for c in clients:
                mtype, tid, attrs = c.allocate()
                if mtype == 0x0103:
                    relayed.append(sc.xor_address(sc.find(attrs, 0x0016), tid))
                    codes.append(200)
                else:
                    codes.append(tc.error_code(attrs))
            self.assertEqual(codes, [200] * 6 + [508])
            self.assertEqual(sorted(ip for ip, _ in relayed),
                             ["127.0.0.1"] * 2 + ["127.0.1.1"] * 2 + ["127.0.1.2"] * 2)
            self.assertEqual(len(set(relayed)), 6)
            self.assertEqual(int(t.metric("tern_relay_ports_available", 'family="ipv4"')), 0)
            # Data goes out from the relayed address the client was given, and comes back.
            peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(peer.close)
            peer.bind(("127.0.0.2", 0))
            peer.settimeout(2)
            for c, address in zip(clients, relayed):
                self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
                c.send_indication("127.0.0.2", peer.getsockname()[1], b"hi")
                data, source = peer.recvfrom(100)
                self.assertEqual((data, source), (b"hi", address))
                peer.sendto(b"back", address)
                got = c.receive()
                self.assertIsNotNone(got, "nothing came back through %s:%d" % address)
                self.assertEqual(sc.find(got[2], 0x0013), b"back")
            # A deleted allocation's port is free again on its own IP.
            self.assertEqual(clients[0].request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0],
                             0x0104)
            mtype, tid, attrs = clients[6].allocate()
            self.assertEqual(mtype, 0x0103, attrs)
            self.assertEqual(sc.xor_address(sc.find(attrs, 0x0016), tid), relayed[0])

    def test_a_wildcard_next_to_extra_addresses_is_refused(self):
        with self.assertRaises(Exception) as raised:
            with Tern(self.CONFIG.replace("address: 127.0.0.1", "address: 0.0.0.0")):
                pass
        self.assertIn("relay.extra_addresses", str(raised.exception))


class DescriptorShortageTest(unittest.TestCase):
    """Out of file descriptors, Allocate gets 508, and the relay ports it tried stay free: once
    allocations end, the whole range is available again (up to 8 ports were lost per failed
    Allocate before)."""

    def test_ports_tried_without_a_descriptor_are_not_lost(self):
        config = """
relay: {address: 127.0.0.1, min_port: 45300, max_port: 45359}
auth: {users: [{name: alice, password: wonderland}]}
limits: {allocations_per_user: 1000}
"""
        # 64 descriptors: fewer than tern's own (about 30, more under ASan) plus 60 relays, and
        # enough left once the allocations end to answer a scrape.
        with Tern(config, nofile=64) as t:
            def allocate_all(count):
                clients, codes = [], []
                for _ in range(count):
                    c = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
                    self.addCleanup(c.close)
                    mtype, _, attrs = c.allocate()
                    codes.append(200 if mtype == 0x0103 else tc.error_code(attrs))
                    if mtype == 0x0103:
                        clients.append(c)
                return clients, codes

            held, codes = allocate_all(60)
            self.assertIn(508, codes)
            self.assertGreater(len(held), 0)
            self.assertEqual(set(codes), {200, 508})
            for c in held:
                self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)
            # Every port of the range is free again.
            self.assertEqual(int(t.metric("tern_relay_ports_available", 'family="ipv4"')), 60)
            again, codes = allocate_all(len(held))
            self.assertEqual(codes, [200] * len(held))
            for c in again:
                c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))


class ReservedPortTest(unittest.TestCase):
    """RFC 8656 §7.2: EVEN-PORT with R reserves the next port. tern holds it with a socket, so
    that nothing else on the host takes it before the RESERVATION-TOKEN comes (a second
    Allocate failed with 508 when another socket had taken it meanwhile)."""

    def test_the_reserved_port_is_held_until_its_token_comes(self):
        config = """
relay: {address: 127.0.0.1, min_port: 45400, max_port: 45419}
auth: {users: [{name: alice, password: wonderland}]}
"""
        with Tern(config) as t:
            first = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            self.addCleanup(first.close)
            mtype, tid, attrs = first.allocate(sc.attr(0x0018, b"\x80"))
            self.assertEqual(mtype, 0x0103, attrs)
            port = sc.xor_address(sc.find(attrs, 0x0016), tid)[1]
            self.assertEqual(port % 2, 0)
            token = sc.find(attrs, 0x0022)
            self.assertEqual(len(token or b""), 8)
            other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(other.close)
            with self.assertRaises(OSError):  # tern holds it
                other.bind(("127.0.0.1", port + 1))
            second = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            self.addCleanup(second.close)
            mtype, tid, attrs = second.allocate(sc.attr(0x0022, token))
            self.assertEqual(mtype, 0x0103, attrs)
            self.assertEqual(sc.xor_address(sc.find(attrs, 0x0016), tid), ("127.0.0.1", port + 1))

if __name__ == "__main__":
    unittest.main()


def denied_peer_drops(t):
    """tern_dropped_packets_total{reason="denied_peer"} from the running server's /metrics."""
    import urllib.request
    ip, port = t.addr("metrics")
    with urllib.request.urlopen("http://%s:%d/metrics" % (ip, port), timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("tern_dropped_packets_total{") and 'reason="denied_peer"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class OwnHostServiceTest(unittest.TestCase):
    """A media server next to tern on its relay address: reachable only through a peers.allow
    entry that names its port; tern's own ports stay closed whatever the entry says."""

    def setUp(self):
        self.sfu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(self.sfu.close)
        self.sfu.bind(("127.0.0.1", 0))
        self.sfu.settimeout(2)
        self.sfu_port = self.sfu.getsockname()[1]

    def start(self, allow):
        t = Tern("""
relay: {address: 127.0.0.1, min_port: 45100, max_port: 45109}
auth: {users: [{name: alice, password: wonderland}]}
peers: {allow: [%s]}
""" % ", ".join('"%s"' % a for a in allow)).__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        c = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
        self.addCleanup(c.close)
        mtype, tid, attrs = c.allocate()
        self.assertEqual(mtype, 0x0103, attrs)
        c.relayed_port = sc.xor_address(sc.find(attrs, 0x0016), tid)[1]
        return t, c

    def test_sfu_port_named_in_allow_is_relayed_both_ways(self):
        t, c = self.start(["127.0.0.1:%d" % self.sfu_port])
        mtype, attrs = c.create_permission("127.0.0.1")
        self.assertEqual(mtype, 0x0108, attrs)
        c.send_indication("127.0.0.1", self.sfu_port, b"to the sfu")
        data, relayed = self.sfu.recvfrom(2000)
        self.assertEqual(data, b"to the sfu")
        self.sfu.sendto(b"from the sfu", relayed)
        got = c.receive()
        self.assertIsNotNone(got, "no Data indication from the SFU")
        self.assertEqual(sc.find(got[2], 0x0013), b"from the sfu")

    def test_terns_own_ports_stay_closed_even_when_named(self):
        t, c = self.start(["127.0.0.1:1-65535"])
        mtype, attrs = c.create_permission("127.0.0.1")
        self.assertEqual(mtype, 0x0108, attrs)
        before = denied_peer_drops(t)
        for kind in ("udp", "metrics"):  # a TURN listener and the metrics listener
            c.send_indication("127.0.0.1", t.addr(kind)[1], b"loop")
        # A port of the relay range that is not the client's own live relay (that one would be
        # a reachable peer: two clients of one tern).
        idle_relay_port = 45100 if c.relayed_port != 45100 else 45101
        c.send_indication("127.0.0.1", idle_relay_port, b"relay range")
        c.send_indication("127.0.0.1", self.sfu_port, b"still open")
        self.assertEqual(self.sfu.recvfrom(2000)[0], b"still open")
        deadline = time.time() + 5
        while denied_peer_drops(t) < before + 3 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(denied_peer_drops(t), before + 3)

    def test_without_a_ported_entry_the_host_is_refused(self):
        t, c = self.start(["127.0.0.0/8"])  # an address-only entry does not open tern's host
        mtype, attrs = c.create_permission("127.0.0.1")
        self.assertEqual(tc.error_code(attrs), 403)
