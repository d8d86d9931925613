"""UDP steering through the real binary (two workers): with `steering.mode: pack` new clients
fill the first worker up to its limit before the next takes any, each client's datagrams keep
reaching the worker that holds its allocation after new ones go elsewhere (also after an
RFC 8016 move between workers, and after the 30 s a new source sticks to its first worker),
and a worker that lost allocations takes new ones again; with `hash` the kernel spreads them.
Needs CAP_BPF."""
import socket
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern
from test_mobility import MobileClient

CONFIG = """
relay: {address: 127.0.0.1, min_port: 47000, max_port: 47999}
auth:
  users: [{name: alice, password: wonderland}]
  generated_secret: false
peers: {allow: [127.0.0.2/32]}
limits: {allocations_per_user: 100}
"""
PEER_IP = "127.0.0.2"


class Client(tc.TurnClient):
    def open(self):
        mtype, tid, attrs = self.allocate()
        assert mtype == 0x0103, tc.error_code(attrs)
        self.relayed = sc.xor_address(sc.find(attrs, 0x0016), tid)
        mtype, attrs = self.create_permission(PEER_IP)
        assert mtype == 0x0108, tc.error_code(attrs)
        return self

    def release(self):
        mtype, _, attrs = self.request(0x0004, sc.attr(0x000D, b"\0\0\0\0"))
        assert mtype == 0x0104, tc.error_code(attrs)


class SteeringTest(unittest.TestCase):
    def start(self, steering, config=CONFIG):
        t = Tern("steering: %s\n" % steering + config).__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        banner = "".join(t.output)
        refused = "udp steering: hash (eBPF program not loaded: Operation not permitted"
        if "pack" in steering and (refused in banner or "built without" in banner):
            self.skipTest("UDP steering needs CAP_BPF: " + banner)
        return t

    def clients(self, t, n):
        out = []
        for _ in range(n):
            c = Client(t.addr("udp"), "alice", "wonderland")
            self.addCleanup(c.close)
            out.append(c.open())
        return out

    def per_worker(self, t):
        return [int(t.metric("tern_worker_allocations", 'worker="%d"' % w)) for w in (0, 1)]

    def relays(self, clients):
        """Every client relays a datagram to the peer and gets the peer's answer back."""
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind((PEER_IP, 0))
        self.addCleanup(peer.close)
        for i, c in enumerate(clients):
            data, source, _, back = c.exchange(peer, c.relayed, b"up %d" % i, b"down %d" % i)
            self.assertEqual((data, source, back), (b"up %d" % i, c.relayed, b"down %d" % i))

    def test_pack_fills_one_worker_then_the_next_and_pins_hold(self):
        t = self.start("{mode: pack, pack_allocations: 5}")
        self.assertIn("udp steering: pack (eBPF)", "".join(t.output))
        first = self.clients(t, 5)
        self.assertEqual(self.per_worker(t), [5, 0])
        second = self.clients(t, 3)
        self.assertEqual(self.per_worker(t), [5, 3])
        # New clients now go to worker 1; the first five still reach worker 0, which has them.
        self.relays(first + second)
        for c in first[:3]:
            c.release()
        self.assertEqual(self.per_worker(t), [2, 3])
        third = self.clients(t, 2)  # worker 0 has room again
        self.assertEqual(self.per_worker(t), [4, 3])
        self.relays(first[3:] + second + third)
        binding = sc.udp_exchange(t.addr("udp"), sc.binding_request()[0])
        self.assertIsNotNone(binding)  # a client without an allocation is answered too

    def test_pins_hold_after_a_move_and_once_sources_stop_sticking(self):
        t = self.start("{mode: pack, pack_allocations: 2}",
                       CONFIG.replace("max_port: 47999}", "max_port: 47999, mobility: true}"))
        a = self.clients(t, 1)[0]
        m = MobileClient(t.addr("udp"), "alice", "wonderland")
        self.addCleanup(m.close)
        m.allocate_mobile()
        self.assertEqual(m.create_permission(PEER_IP)[0], 0x0108)
        self.assertEqual(self.per_worker(t), [2, 0])
        b = self.clients(t, 1)[0]
        self.assertEqual(self.per_worker(t), [2, 1])
        across = t.metric("tern_allocations_moved_between_workers_total")
        mtype, attrs = m.move()  # the new 5-tuple reaches worker 1, which fetches it
        self.assertEqual(mtype, 0x0104, tc.error_code(attrs))
        self.assertEqual(t.metric("tern_allocations_moved_between_workers_total"), across + 1)
        self.assertEqual(self.per_worker(t), [1, 2])
        a.release()
        self.assertEqual(self.per_worker(t), [0, 2])
        c = self.clients(t, 1)[0]  # worker 0 has room again: new clients go there
        self.assertEqual(self.per_worker(t), [1, 2])
        # Past the 30 s a new source sticks to its first worker, only the pins keep the moved
        # client's new 5-tuple and b on worker 1 while new sources go to worker 0.
        time.sleep(31)
        self.relays([m, b, c])

    def test_pack_keeps_an_idle_servers_clients_on_one_worker(self):
        t = self.start("{mode: pack}")
        clients = self.clients(t, 20)
        self.assertEqual(self.per_worker(t), [20, 0])
        self.relays(clients)

    def test_hash_spreads_clients_over_both_workers(self):
        t = self.start("{mode: hash}")
        self.assertIn("udp steering: hash", "".join(t.output))
        self.clients(t, 20)
        counts = self.per_worker(t)
        self.assertEqual(sum(counts), 20)
        self.assertGreater(min(counts), 0, counts)  # all on one: 2 in a million


if __name__ == "__main__":
    unittest.main()
