"""RFC 8016 mobility through the real binary: coturn's turnutils_uclient -M (each client moves
to a new socket after its Allocate and refreshes there with its ticket), and a Python client
that moves mid-session and keeps relaying, and whose old socket keeps relaying until the new
one sends (make before break), on two workers so that moves cross workers."""
import shutil
import socket
import struct
import subprocess
import unittest

import stun_client as sc
import turn_client as tc
from harness import WithTern
from test_turn_interop import PEER_IP, WithPeer, totals

# The kernel's hash spreads a client's ports over both workers, so that moves cross workers
# (packing would keep every client of this idle server on the first).
CONFIG = """
steering: {mode: hash}
relay: {address: 127.0.0.1, min_port: 48000, max_port: 48999, rfc5766_channels: true,
        mobility: true}
auth:
  users: [{name: alice, password: wonderland}, {name: bob, password: builder}]
peers: {allow: [127.0.0.2/32]}
"""
MOBILITY_TICKET = 0x8030


class MobileClient(tc.TurnClient):
    """A UDP TURN client that asks for a ticket and can move to a new socket with it."""

    def allocate_mobile(self):
        mtype, tid, attrs = self.allocate(sc.attr(MOBILITY_TICKET, b""))
        assert mtype == 0x0103, tc.error_code(attrs)
        self.ticket = sc.find(attrs, MOBILITY_TICKET)
        self.relayed = sc.xor_address(sc.find(attrs, 0x0016), tid)
        return self.ticket

    def move(self):
        """A new socket (a new 5-tuple), then Refresh with the ticket from there."""
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        mtype, _, attrs = self.request(
            tc.REFRESH, sc.attr(0x000D, struct.pack("!I", 600)) + sc.attr(MOBILITY_TICKET,
                                                                          self.ticket))
        if mtype == 0x0104:
            self.ticket = sc.find(attrs, MOBILITY_TICKET)
        return mtype, attrs


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class UclientMobilityTest(WithPeer, unittest.TestCase):
    CONFIG = CONFIG

    def test_clients_move_and_relay_without_loss(self):
        ip, port = self.tern.addr("udp")
        cmd = ["turnutils_uclient", "-M", "-u", "alice", "-w", "wonderland", "-p", str(port),
               "-n", "50", "-m", "8", "-l", "120", "-e", PEER_IP, "-r", str(self.peer_port), ip]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        sent_recv, lost = totals(p.stdout)
        self.assertEqual(sent_recv, (400, 400), p.stdout[-3000:])
        self.assertEqual(lost, 0, p.stdout[-3000:])
        moved = self.tern.metric("tern_allocations_moved_total")
        across = self.tern.metric("tern_allocations_moved_between_workers_total")
        self.assertGreaterEqual(moved, 8)  # every client moved (the tool's probe may too)
        print("\n  uclient -M: 400/400 relayed, 0 lost; %d moves, %d of them between workers"
              % (moved, across))


class MobilityTest(WithTern, unittest.TestCase):
    CONFIG = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.tern.addr("udp")

    def test_a_client_keeps_relaying_through_each_move(self):
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind((PEER_IP, 0))
        self.addCleanup(peer.close)
        before = self.tern.metric("tern_allocations_moved_between_workers_total")
        client = MobileClient(self.server, "alice", "wonderland", realm="test.local")
        self.addCleanup(client.close)
        first = client.allocate_mobile()
        self.assertEqual(len(first), 32)
        self.assertEqual(client.create_permission(PEER_IP)[0], 0x0108)
        tickets = {first}
        for hop in range(8):  # with two workers, some hops land on the other one
            mtype, attrs = client.move()
            self.assertEqual(mtype, 0x0104, tc.error_code(attrs))
            self.assertNotIn(client.ticket, tickets)
            tickets.add(client.ticket)
            data, source, _, back = client.exchange(peer, client.relayed, b"hop %d" % hop,
                                                    b"back %d" % hop)
            self.assertEqual((data, source), (b"hop %d" % hop, client.relayed))
            self.assertEqual(back, b"back %d" % hop)
        across = self.tern.metric("tern_allocations_moved_between_workers_total") - before
        print("\n  8 moves, %d between workers" % across)

    def test_the_old_socket_keeps_relaying_until_the_new_one_sends(self):
        """RFC 8016 §3.2.2, make before break: after the Refresh from a new socket the old one
        still sends and receives data; the first data from the new one ends that. Hops go on
        until one within a worker and one between workers were seen (24 at most)."""
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind((PEER_IP, 0))
        self.addCleanup(peer.close)
        peer_ip, peer_port = peer.getsockname()
        client = MobileClient(self.server, "alice", "wonderland", realm="test.local")
        self.addCleanup(client.close)
        client.allocate_mobile()
        self.assertEqual(client.create_permission(PEER_IP)[0], 0x0108)
        crossed = set()
        for hop in range(24):
            if len(crossed) == 2:
                break
            before = self.tern.metric("tern_allocations_moved_between_workers_total")
            old = client.sock
            new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            new.bind(("127.0.0.1", 0))
            client.sock = new
            mtype, _, attrs = client.request(
                tc.REFRESH, sc.attr(0x000D, struct.pack("!I", 600)) +
                sc.attr(MOBILITY_TICKET, client.ticket))
            self.assertEqual(mtype, 0x0104, tc.error_code(attrs))
            client.ticket = sc.find(attrs, MOBILITY_TICKET)
            crossed.add(self.tern.metric("tern_allocations_moved_between_workers_total") > before)
            # The peer's data still goes to the old socket, and the old socket's reaches the peer.
            client.sock = old
            peer.sendto(b"to old %d" % hop, client.relayed)
            got = client.receive(3)
            self.assertIsNotNone(got, "hop %d: nothing came to the old socket" % hop)
            self.assertEqual(sc.find(got[2], 0x0013), b"to old %d" % hop)
            client.send_indication(peer_ip, peer_port, b"from old %d" % hop)
            peer.settimeout(3)
            self.assertEqual(peer.recvfrom(2048), (b"from old %d" % hop, client.relayed))
            # The new socket sends: from now on only it is served.
            client.sock = new
            data, source, _, back = client.exchange(peer, client.relayed, b"from new %d" % hop,
                                                    b"to new %d" % hop)
            self.assertEqual((data, source, back),
                             (b"from new %d" % hop, client.relayed, b"to new %d" % hop))
            client.sock = old
            client.send_indication(peer_ip, peer_port, b"late")
            peer.settimeout(0.3)
            with self.assertRaises(socket.timeout):
                peer.recvfrom(2048)
            old.close()
            client.sock = new
        self.assertEqual(crossed, {False, True})
        print("\n  make before break: %d hops, within and between workers" % (hop + 1))

    def test_another_users_credentials_cannot_take_an_allocation(self):
        victim = MobileClient(self.server, "alice", "wonderland", realm="test.local")
        self.addCleanup(victim.close)
        victim.allocate_mobile()
        thief = MobileClient(self.server, "bob", "builder", realm="test.local")
        self.addCleanup(thief.close)
        thief.ticket = victim.ticket
        mtype, attrs = thief.move()
        self.assertEqual(tc.error_code(attrs), 441)
        mtype, attrs = victim.move()  # still the victim's
        self.assertEqual(mtype, 0x0104, tc.error_code(attrs))


if __name__ == "__main__":
    unittest.main()
