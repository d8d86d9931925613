"""TURN relay against coturn's own test clients: turnutils_uclient through tern to turnutils_peer."""
import re
import shutil
import socket
import subprocess
import unittest

from harness import Tern, WithTern

TURN_CONFIG = """
relay: {address: 127.0.0.1, address_v6: "::1", rfc5766_channels: true, min_port: 40000, max_port: 44999}
limits: {allocations_per_user: 100}
auth:
  users: [{name: alice, password: wonderland}]
  secrets: [north]
peers: {allow: [127.0.0.2/32]}
"""

PEER_IP = "127.0.0.2"  # not one of tern's relay addresses, allowed explicitly above


def free_udp_port(ip):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def turnutils_peer(port, ip=PEER_IP):
    """coturn's echo peer on ip:port, its output discarded."""
    return subprocess.Popen(["turnutils_peer", "-L", ip, "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class WithPeer(WithTern):
    """WithTern, and coturn's turnutils_peer on PEER_IP (port cls.peer_port) to relay to."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer_port = free_udp_port(PEER_IP)
        cls.peer = turnutils_peer(cls.peer_port)

    @classmethod
    def tearDownClass(cls):
        cls.peer.terminate()
        cls.peer.wait(10)
        super().tearDownClass()


def uclient(tern, flags, messages=50, clients=2, user=("-u", "alice", "-w", "wonderland"),
            peer_port=None, timeout=60):
    transport = "tls" if "-S" in flags else ("tcp" if "-t" in flags else "udp")
    ip, port = tern.addr(transport)
    cmd = ["turnutils_uclient", *flags, *user, "-p", str(port), "-n", str(messages),
           "-m", str(clients), "-l", "120"]
    if peer_port is not None:
        cmd += ["-e", PEER_IP, "-r", str(peer_port)]
    cmd.append(ip)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        return p.stdout
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")


def totals(out):
    m = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
    lost = re.findall(r"Total lost packets (\d+)", out)
    return (int(m[-1][0]), int(m[-1][1])) if m else None, int(lost[-1]) if lost else None


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class TurnInteropTest(WithPeer, unittest.TestCase):
    CONFIG = TURN_CONFIG

    def relay_all(self, flags, clients=2, **kw):
        out = uclient(self.tern, flags, clients=clients, peer_port=self.peer_port, **kw)
        sent_recv, lost = totals(out)
        self.assertIsNotNone(sent_recv, out[-3000:])
        self.assertEqual(sent_recv, (50 * clients, 50 * clients), out[-3000:])
        self.assertEqual(lost, 0, out[-3000:])
        return out

    def test_udp_channels(self):
        self.relay_all([])

    def test_udp_send_indications(self):
        self.relay_all(["-s"])

    def test_tcp_channels(self):
        self.relay_all(["-t"])

    def test_tcp_send_indications(self):
        self.relay_all(["-t", "-s"])

    def test_tls_channels(self):
        self.relay_all(["-t", "-S"])

    def test_tls_alpn_selects_stun_turn_when_offered(self):
        ip, port = self.tern.addr("tls")

        def negotiated(alpn):
            p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (ip, port),
                                "-alpn", alpn], input="", stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=30)
            return p.stdout

        self.assertIn("ALPN protocol: stun.turn", negotiated("h2,stun.turn"))
        self.assertIn("No ALPN negotiated", negotiated("h2,http/1.1"))

    def test_client_to_client_through_own_relays(self):
        # Both ends are tern allocations on loopback: allowed because they are live relays.
        out = uclient(self.tern, ["-y"], peer_port=None)
        sent_recv, lost = totals(out)
        self.assertEqual(sent_recv, (200, 200), out[-3000:])
        self.assertEqual(lost, 0)

    def test_ipv6_relay(self):
        out = uclient(self.tern, ["-v", "-y", "-x"], peer_port=None)
        self.assertRegex(out, r"IPv6. Received relay addr: \[?::1\]?:\d+")
        self.assertNotIn("IPv4. Received relay addr", out)
        sent_recv, lost = totals(out)
        self.assertEqual(sent_recv, (200, 200), out[-3000:])
        self.assertEqual(lost, 0)

    def test_rest_api_credentials(self):
        out = uclient(self.tern, ["-c"], clients=1, user=("-W", "north", "-u", "bob"),
                      peer_port=self.peer_port)
        self.assertEqual(totals(out), ((50, 50), 0), out[-3000:])

    def test_wrong_password_is_refused(self):
        out = uclient(self.tern, [], clients=1, user=("-u", "alice", "-w", "queen"),
                      peer_port=self.peer_port, timeout=30)
        self.assertIn("Cannot complete Allocation", out)

    def test_unknown_rest_secret_is_refused(self):
        out = uclient(self.tern, [], clients=1, user=("-W", "south", "-u", "bob"),
                      peer_port=self.peer_port, timeout=30)
        self.assertIn("Cannot complete Allocation", out)

    def test_denied_peer_gets_403(self):
        out = subprocess.run(["turnutils_uclient", "-u", "alice", "-w", "wonderland",
                              "-p", str(self.tern.addr("udp")[1]), "-n", "5", "-m", "1",
                              "-e", "127.0.0.3", "-r", str(self.peer_port), "127.0.0.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=30).stdout
        self.assertIn("403", out)

    def test_tern_own_address_on_a_non_relay_port_gets_403(self):
        # 127.0.0.1 is tern's relay address; its STUN port must never be reachable as a peer.
        out = subprocess.run(["turnutils_uclient", "-u", "alice", "-w", "wonderland",
                              "-p", str(self.tern.addr("udp")[1]), "-n", "5", "-m", "1",
                              "-e", "127.0.0.1", "-r", str(self.tern.addr("udp")[1]),
                              "127.0.0.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=30).stdout
        self.assertIn("403", out)


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class Ipv6ClientInteropTest(unittest.TestCase):
    def test_uclient_over_ipv6_gets_an_ipv4_relay_and_relays_everything(self):
        with Tern(TURN_CONFIG, listen=[("udp", "::1"), ("tcp", "::1")]) as t:
            peer_port = free_udp_port(PEER_IP)
            peer = turnutils_peer(peer_port)
            try:
                for flags in ([], ["-t"]):
                    out = uclient(t, ["-v", "-c"] + flags, clients=1, peer_port=peer_port)
                    self.assertRegex(out, r"IPv4. Received relay addr: 127\.0\.0\.1:\d+")
                    self.assertEqual(totals(out), ((50, 50), 0), out[-3000:])
            finally:
                peer.terminate()
                peer.wait(10)


if __name__ == "__main__":
    unittest.main()
