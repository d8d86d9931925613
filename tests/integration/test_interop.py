"""Interop: coturn's turnutils_stunclient and Debian's RFC 3489 `stun` client against tern."""
import re
import shutil
import subprocess
import unittest

from harness import Tern


def run(cmd, timeout=30):
    """Runs a client; one that is still waiting for an answer after `timeout` counts as no answer."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out


@unittest.skipUnless(shutil.which("turnutils_stunclient"), "coturn not installed")
class CoturnStunClientTest(unittest.TestCase):
    def test_mapped_address_over_udp(self):
        with Tern() as t:
            ip, port = t.addr("udp")
            code, out = run(["turnutils_stunclient", "-p", str(port), "-L", "127.0.0.1", ip])
            self.assertEqual(code, 0, out)
            mapped = re.findall(r"UDP reflexive addr: ([0-9.]+):(\d+)", out)
            self.assertTrue(mapped, "no reflexive address in:\n" + out)
            self.assertEqual(mapped[0][0], "127.0.0.1")
            self.assertTrue(1024 <= int(mapped[0][1]) <= 65535)


@unittest.skipUnless(shutil.which("stun"), "stun-client not installed")
class ClassicStunClientTest(unittest.TestCase):
    def test_rfc3489_client_answered_when_enabled(self):
        with Tern("stun: {rfc3489: true}\n") as t:
            ip, port = t.addr("udp")
            code, out = run(["stun", "%s:%d" % (ip, port), "1", "-v"], timeout=60)
            self.assertRegex(out, r"MappedAddress = 127\.0\.0\.1:\d+", out)

    def test_rfc3489_client_ignored_by_default(self):
        with Tern() as t:
            ip, port = t.addr("udp")
            code, out = run(["stun", "%s:%d" % (ip, port), "1", "-v"], timeout=8)
            self.assertNotRegex(out, r"MappedAddress = ", out)


if __name__ == "__main__":
    unittest.main()
