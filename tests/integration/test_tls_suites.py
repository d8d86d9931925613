"""The cipher suites RFC 8489 §6.2.3 and RFC 7350 require of TLS and DTLS, checked with
`openssl s_client` against an RSA certificate: TLS_DHE_RSA_ and TLS_ECDHE_RSA_WITH_AES_128_GCM_
SHA256 over TLS 1.2 and DTLS 1.2; and ALPN `stun.turn` (RFC 7443) selected over DTLS as over
TLS."""
import os
import subprocess
import tempfile
import unittest

from harness import Tern

LISTEN = [("udp", "127.0.0.1"), ("tls", "127.0.0.1"), ("dtls", "127.0.0.1")]
SUITES = ["DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]


def s_client(args, address):
    """Runs openssl s_client to `address` and returns what it printed."""
    p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % address, *args], input="",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    return p.stdout


class TlsSuitesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="tern-rsa-")
        cert = os.path.join(cls.dir.name, "cert.pem")
        key = os.path.join(cls.dir.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        config = "tls: {cert_file: %s, key_file: %s}\n" % (cert, key)
        cls.tern = Tern(config, listen=LISTEN).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)
        cls.dir.cleanup()

    def test_tls_1_2_suites_with_an_rsa_certificate(self):
        for suite in SUITES:
            out = s_client(["-tls1_2", "-cipher", suite], self.tern.addr("tls"))
            self.assertIn("Cipher is %s" % suite, out, out[-2000:])

    def test_dtls_1_2_suites_with_an_rsa_certificate(self):
        for suite in SUITES:
            out = s_client(["-dtls1_2", "-cipher", suite], self.tern.addr("dtls"))
            self.assertIn("Cipher is %s" % suite, out, out[-2000:])

    def test_dtls_selects_alpn_stun_turn(self):
        out = s_client(["-dtls1_2", "-alpn", "h2,stun.turn"], self.tern.addr("dtls"))
        self.assertIn("ALPN protocol: stun.turn", out, out[-2000:])
        out = s_client(["-dtls1_2", "-alpn", "h2"], self.tern.addr("dtls"))
        self.assertIn("No ALPN negotiated", out, out[-2000:])


if __name__ == "__main__":
    unittest.main()
