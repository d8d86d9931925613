"""Abuse against the real binary, with figures: what each kind of unauthenticated reply costs a
reflector (bytes out per byte in), what a 401 carries, and credential stuffing (many wrong
passwords for one user from one address): answered within the unauthenticated budget,
counted, never logged per attempt, and no obstacle to the right password."""
import re
import socket
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern

USERS = "auth: {users: [{name: alice, password: wonderland}]}\n"
ERROR_CODE, REALM, NONCE, PASSWORD_ALGORITHMS, UNKNOWN_ATTRIBUTES = 0x0009, 0x0014, 0x0015, 0x8002, 0x000A
XOR_MAPPED_ADDRESS, FINGERPRINT, SOFTWARE = 0x0020, 0x8028, 0x8022
UDP_IP_HEADERS = 28  # IPv4 + UDP: what each datagram costs on the wire besides its payload

# The worst byte amplification tern may offer an unauthenticated (spoofable) sender for the
# smallest request that draws each reply: payload to payload, and on the wire (IPv4 + UDP).
# A 401 must carry REALM and a NONCE (RFC 8489 §9.2.4), so a 20-byte Refresh draws 124 bytes;
# what bounds reflection is the per-source reply budget (limits.unauthenticated_*).
MAX_AMPLIFICATION = 6.5
MAX_WIRE_AMPLIFICATION = 3.5


class AmplificationTest(unittest.TestCase):
    """The smallest request that draws each unauthenticated reply, and the reply's size."""

    KINDS = [
        # (name, request, expected reply: None = success, else the error code)
        ("Binding", sc.message(0x0001)[0], None),
        ("Allocate without credentials", sc.message(0x0003, sc.attr(0x0019, b"\x11\0\0\0"))[0], 401),
        ("Refresh without credentials", sc.message(0x0004)[0], 401),
        ("Binding with an unknown comprehension-required attribute",
         sc.message(0x0001, sc.attr(0x7F01, b""))[0], 420),
    ]

    def test_each_unauthenticated_reply_kind(self):
        rows = []
        with Tern(USERS) as t:
            for name, request, expected in self.KINDS:
                reply = sc.udp_exchange(t.addr("udp"), request)
                self.assertIsNotNone(reply, name)
                mtype, _, attrs, _ = sc.parse(reply)
                self.assertEqual(tc.error_code(attrs), expected, "%s: %r" % (name, attrs))
                types = {a for a, _ in attrs}
                if expected == 401:
                    # RFC 8489 §9.2.4: ERROR-CODE, REALM and NONCE (and PASSWORD-ALGORITHMS,
                    # §9.2.4 with the nonce cookie); nothing about users, allocations or tern.
                    self.assertLessEqual(types, {ERROR_CODE, REALM, NONCE, PASSWORD_ALGORITHMS, FINGERPRINT},
                                         "%s: 401 carries %r" % (name, sorted(types)))
                elif expected == 420:
                    self.assertLessEqual(types, {ERROR_CODE, UNKNOWN_ATTRIBUTES, FINGERPRINT}, name)
                else:
                    self.assertLessEqual(types, {XOR_MAPPED_ADDRESS, FINGERPRINT}, name)
                ratio = len(reply) / len(request)
                wire = (len(reply) + UDP_IP_HEADERS) / (len(request) + UDP_IP_HEADERS)
                rows.append((name, expected or "success", len(request), len(reply), ratio, wire))
                self.assertLessEqual(ratio, MAX_AMPLIFICATION, "%s: %d B for %d B" % (name, len(reply), len(request)))
                self.assertLessEqual(wire, MAX_WIRE_AMPLIFICATION, name)
        for name, code, req, rep, ratio, wire in rows:
            print("# amplification | %s | %s | %d B | %d B | %.2fx | %.2fx on the wire" %
                  (name, code, req, rep, ratio, wire))


class CredentialStuffingTest(unittest.TestCase):
    """Many wrong passwords for one user from one address."""

    def test_wrong_passwords_are_budgeted_counted_not_logged_and_do_not_block_the_right_one(self):
        attempts = 300
        config = USERS + ("limits: {unauthenticated_replies_per_second: 20, "
                          "unauthenticated_reply_burst: 40}\n")
        with Tern(config) as t:
            # The right password, learned before the attack, from the same address.
            good = tc.TurnClient(t.addr("udp"), "alice", "wonderland", local="127.0.0.7")
            self.addCleanup(good.close)
            bad = tc.TurnClient(t.addr("udp"), "alice", "hunter2-wrong", local="127.0.0.7")
            self.addCleanup(bad.close)
            self.assertEqual(good.request(tc.REFRESH)[0], 0x0114)  # 437: the nonce is learned
            self.assertEqual(tc.error_code(bad.allocate()[2]), 401)
            failures_before = t.metric("tern_auth_failures_total", 'reason="bad_integrity"')
            bad.sock.settimeout(0.2)
            started = time.time()
            for i in range(attempts):
                tid = bytes([i % 256]) * 12
                bad.sock.sendto(bad.signed(tc.ALLOCATE, sc.attr(0x0019, b"\x11\0\0\0"), tid), t.addr("udp"))
            replies = 0
            try:
                while True:
                    mtype, _, attrs, _ = sc.parse(bad.sock.recv(2000))
                    self.assertEqual(tc.error_code(attrs), 401)
                    replies += 1
            except socket.timeout:
                pass
            elapsed = time.time() - started
            failures = t.metric("tern_auth_failures_total", 'reason="bad_integrity"') - failures_before
            print("# credential stuffing: %d wrong passwords in %.2f s from one address: %d answered, "
                  "%d counted in tern_auth_failures_total{reason=\"bad_integrity\"}" %
                  (attempts, elapsed, replies, failures))
            # Every attempt is counted; answers stay within the source's unauthenticated budget.
            self.assertEqual(failures, attempts)
            self.assertLessEqual(replies, 40 + 20 * (elapsed + 1))
            self.assertGreater(replies, 0)
            # The right password still works at once from the same address.
            mtype, _, attrs = good.allocate()
            self.assertEqual(mtype, 0x0103, attrs)
            # Nothing about the attempts in the log: neither a line per attempt nor the password.
            time.sleep(0.2)
            log = "".join(t.output)
            self.assertNotIn("hunter2", log)
            self.assertLess(len(re.findall(r"alice", log)), 5, log[-2000:])


if __name__ == "__main__":
    unittest.main()
