"""TURN over DTLS (RFC 7350): coturn's turnutils_uclient relays through tern's dtls listener; the
stateless cookie exchange answers a ClientHello with a HelloVerifyRequest no larger than it and
keeps nothing; half-open handshakes and idle associations end at their timeouts."""
import os
import shutil
import socket
import subprocess
import time
import unittest

from test_turn_interop import PEER_IP, WithPeer, totals

CONFIG = """
relay: {address: 127.0.0.1, rfc5766_channels: true, min_port: 45000, max_port: 45999}
auth:
  users: [{name: alice, password: wonderland}]
peers: {allow: [127.0.0.2/32]}
connections: {idle_timeout: 2s, handshake_timeout: 2s}
"""
LISTEN = [("udp", "127.0.0.1"), ("dtls", "127.0.0.1")]


def client_hello(cookie=b"", message_seq=0):
    """A minimal DTLS 1.2 ClientHello (one ECDHE AES-GCM suite, the groups and signature
    algorithms a P-256 certificate needs) in one record of epoch 0."""
    ext_groups = b"\x00\x0a\x00\x04\x00\x02\x00\x17"                 # supported_groups: P-256
    ext_points = b"\x00\x0b\x00\x02\x01\x00"                         # ec_point_formats
    ext_sigalgs = b"\x00\x0d\x00\x04\x00\x02\x04\x03"                # ecdsa_secp256r1_sha256
    extensions = ext_groups + ext_points + ext_sigalgs
    body = (b"\xfe\xfd" + bytes(range(32)) + b"\x00" + bytes([len(cookie)]) + cookie +
            b"\x00\x02\xc0\x2b" + b"\x01\x00" + len(extensions).to_bytes(2, "big") + extensions)
    handshake = (b"\x01" + len(body).to_bytes(3, "big") + message_seq.to_bytes(2, "big") +
                 b"\x00\x00\x00" + len(body).to_bytes(3, "big") + body)
    return (b"\x16\xfe\xfd" + b"\x00\x00" + message_seq.to_bytes(6, "big") +
            len(handshake).to_bytes(2, "big") + handshake)


def hello_verify_cookie(reply):
    """The cookie of a HelloVerifyRequest record, or None when `reply` is none."""
    if len(reply) < 28 or reply[0] != 22 or reply[13] != 3:
        return None
    n = reply[27]
    return reply[28:28 + n]


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class DtlsTest(WithPeer, unittest.TestCase):
    CONFIG = CONFIG
    LISTEN = LISTEN

    def dtls_active(self):
        return self.tern.metric("tern_connections_active", 'transport="dtls"')

    def wait_dtls_active(self, value, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline and self.dtls_active() != value:
            time.sleep(0.1)
        return self.dtls_active()

    def uclient(self, flags, clients=4, messages=100):
        ip, port = self.tern.addr("dtls")
        cmd = ["turnutils_uclient", "-S", *flags, "-u", "alice", "-w", "wonderland",
               "-p", str(port), "-n", str(messages), "-m", str(clients), "-l", "120",
               "-e", PEER_IP, "-r", str(self.peer_port), ip]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=90)
        return p.stdout

    def test_uclient_relays_over_dtls_with_channels(self):
        out = self.uclient([])
        self.assertEqual(totals(out), ((400, 400), 0), out[-3000:])

    def test_uclient_relays_over_dtls_with_send_indications(self):
        out = self.uclient(["-s"])
        self.assertEqual(totals(out), ((400, 400), 0), out[-3000:])

    def test_hello_without_cookie_gets_a_smaller_answer_and_leaves_no_state(self):
        ip, port = self.tern.addr("dtls")
        hello = client_hello()
        replies = []
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
        try:
            for s in socks:
                s.settimeout(2)
                for _ in range(10):
                    s.sendto(hello, (ip, port))
                    replies.append(s.recv(4096))
            # A cookie made up by the client is answered the same way.
            forged = client_hello(cookie=os.urandom(16), message_seq=1)
            socks[0].sendto(forged, (ip, port))
            replies.append(socks[0].recv(4096))
        finally:
            for s in socks:
                s.close()
        self.assertEqual(len(replies), 201)
        for r in replies:
            self.assertIsNotNone(hello_verify_cookie(r), r.hex())
            self.assertLessEqual(len(r), len(hello))
        print("\n# dtls: ClientHello %d bytes, HelloVerifyRequest %d bytes (%.2fx)"
              % (len(hello), len(replies[0]), len(replies[0]) / len(hello)))
        time.sleep(0.3)
        self.assertEqual(self.dtls_active(), 0)

    def test_half_open_handshake_ends_at_the_handshake_timeout(self):
        ip, port = self.tern.addr("dtls")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(client_hello(), (ip, port))
            cookie = hello_verify_cookie(s.recv(4096))
            self.assertIsNotNone(cookie)
            s.sendto(client_hello(cookie=cookie, message_seq=1), (ip, port))
            flight = s.recv(4096)
            self.assertEqual(flight[0], 22)   # handshake record
            self.assertEqual(flight[13], 2)   # server_hello: the cookie verified
            self.assertEqual(self.wait_dtls_active(1, 1), 1)
            started = time.time()
            self.assertEqual(self.wait_dtls_active(0, 6), 0)
            self.assertLess(time.time() - started, 4.5)

    def test_idle_association_ends_at_the_idle_timeout(self):
        ip, port = self.tern.addr("dtls")
        client = subprocess.Popen(
            ["openssl", "s_client", "-dtls1_2", "-quiet", "-connect", "%s:%d" % (ip, port)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertEqual(self.wait_dtls_active(1, 10), 1)
            started = time.time()
            self.assertEqual(self.wait_dtls_active(0, 8), 0)
            self.assertLess(time.time() - started, 5)  # idle_timeout 2 s, checked every second
        finally:
            client.kill()
            client.wait(5)
            client.stdin.close()


if __name__ == "__main__":
    unittest.main()
