"""RFC 7635 third-party authorization on the real binary, against coturn's own client:
`turnutils_uclient -J` mints access tokens with coturn's test keys (key ids north, union,
oldempire, as its source defines them) for the server name tern's 401 names, and relays through
tern with zero loss; with other key material it cannot allocate at all."""
import shutil
import subprocess
import unittest

import stun_client as sc
from harness import Tern
from test_turn_interop import PEER_IP, free_udp_port, totals, turnutils_peer

# coturn's test keys: base64 of ASCII digits and a newline; tern uses the first 32 (16) bytes.
KEYS = """
      - {kid: north, algorithm: A256GCM, key: MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK}
      - {kid: union, algorithm: A128GCM, key: "MTIzNDU2Nzg5MDEyMzQ1Ngo="}
      - {kid: oldempire, algorithm: A256GCM, key: MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIK}
"""
# The same key ids with other key material (base64 of 32 and 16 bytes of "x").
OTHER_KEYS = """
      - {kid: north, algorithm: A256GCM, key: eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=}
      - {kid: union, algorithm: A128GCM, key: eHh4eHh4eHh4eHh4eHh4eA==}
      - {kid: oldempire, algorithm: A256GCM, key: eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=}
"""
CONFIG = """
relay: {address: 127.0.0.1, rfc5766_channels: true, min_port: 46000, max_port: 46999}
peers: {allow: [127.0.0.2/32]}
auth:
  oauth:
    server_name: blackdow.carleon.gov
    keys: %s
"""


def run_uclient(tern, peer_port, clients=2, messages=50):
    ip, port = tern.addr("udp")
    p = subprocess.run(["turnutils_uclient", "-J", "-p", str(port), "-n", str(messages),
                        "-m", str(clients), "-l", "120", "-e", PEER_IP, "-r", str(peer_port), ip],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return p.stdout


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class OAuthInteropTest(unittest.TestCase):
    def setUp(self):
        self.peer_port = free_udp_port(PEER_IP)
        self.peer = turnutils_peer(self.peer_port)
        self.addCleanup(self.peer.wait, 10)
        self.addCleanup(self.peer.terminate)

    def test_coturn_client_relays_with_access_tokens(self):
        with Tern(CONFIG % KEYS) as t:
            # The 401 names the server the tokens are sealed for.
            reply = sc.udp_exchange(t.addr("udp"), sc.message(0x0003, sc.attr(0x0019, b"\x11\0\0\0"))[0])
            _, _, attrs, _ = sc.parse(reply)
            self.assertEqual(sc.find(attrs, 0x802E), b"blackdow.carleon.gov")
            out = run_uclient(t, self.peer_port)
            sent_recv, lost = totals(out)
            print("\n# turnutils_uclient -J (RFC 7635 tokens): sent/received %s, lost %s"
                  % (sent_recv, lost))
            self.assertEqual(sent_recv, (100, 100), out[-3000:])
            self.assertEqual(lost, 0, out[-3000:])

    def test_tokens_sealed_with_other_keys_allocate_nothing(self):
        with Tern(CONFIG % OTHER_KEYS) as t:
            out = run_uclient(t, self.peer_port, clients=1, messages=5)
            sent_recv, _ = totals(out)
            self.assertTrue(sent_recv is None or sent_recv[1] == 0, out[-3000:])
            self.assertEqual(t.metric("tern_allocations_active"), 0)


if __name__ == "__main__":
    unittest.main()
