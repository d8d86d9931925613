"""RFC 5780 NAT behaviour discovery on the real binary, with two loopback addresses: answers
come from the address and port CHANGE-REQUEST asks for, go to the port RESPONSE-PORT names,
and coturn's turnutils_natdiscovery classifies the (absent) NAT through tern. Off by default:
CHANGE-REQUEST then gets 420."""
import shutil
import socket
import struct
import subprocess
import unittest

import stun_client as sc
from harness import Tern


def free_udp_port(ips):
    """A port free on every address in `ips`."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ips[0], 0))
            port = s.getsockname()[1]
        ok = True
        for ip in ips:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind((ip, port))
            except OSError:
                ok = False
        if ok:
            return port
    raise RuntimeError("no free port")


def ask(server, attrs=b"", sock=None, receive_on=None):
    """Sends a Binding; returns (reply attributes, the address the reply came from)."""
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if own:
        s.bind(("127.0.0.1", 0))
    r = receive_on or s
    r.settimeout(2)
    msg, tid = sc.message(0x0001, attrs)
    s.sendto(msg, server)
    try:
        data, origin = r.recvfrom(4096)
    except socket.timeout:
        return None, None
    finally:
        if own:
            s.close()
    _, _, parsed, _ = sc.parse(data)
    return parsed, origin


class NatDiscoveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p1 = free_udp_port(["127.0.0.1", "127.0.0.2"])
        cls.p2 = free_udp_port(["127.0.0.1", "127.0.0.2"])
        config = 'stun: {nat_discovery: {primary: "127.0.0.1:%d", alternate: "127.0.0.2:%d"}}\n' % (
            cls.p1, cls.p2)
        cls.tern = Tern(config, listen=[("udp", "127.0.0.1", cls.p1), ("tcp", "127.0.0.1")]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def test_change_request_picks_the_source(self):
        primary = ("127.0.0.1", self.p1)
        for flags, source in ((0, ("127.0.0.1", self.p1)), (4, ("127.0.0.2", self.p1)),
                              (2, ("127.0.0.1", self.p2)), (6, ("127.0.0.2", self.p2))):
            attrs, origin = ask(primary, sc.attr(0x0003, struct.pack("!I", flags)))
            self.assertEqual(origin, source, flags)
            self.assertEqual(sc.plain_address(sc.find(attrs, 0x802B)), source)  # RESPONSE-ORIGIN
            self.assertEqual(sc.plain_address(sc.find(attrs, 0x802C)), ("127.0.0.2", self.p2))

    def test_the_other_listeners_are_open(self):
        for server in (("127.0.0.2", self.p1), ("127.0.0.1", self.p2), ("127.0.0.2", self.p2)):
            attrs, origin = ask(server)
            self.assertEqual(origin, server)

    def test_response_port_redirects_and_padding_does_not(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            s.bind(("127.0.0.1", 0))
            other.bind(("127.0.0.1", 0))
            attrs, _ = ask(("127.0.0.1", self.p1), sc.attr(0x0027, struct.pack("!HH", other.getsockname()[1], 0)),
                           sock=s, receive_on=other)
            self.assertIsNotNone(attrs)
            self.assertIsNotNone(sc.find(attrs, 0x0020))  # answered, at the other socket
            # PADDING with RESPONSE-PORT: 400, to the sender.
            attrs, _ = ask(("127.0.0.1", self.p1),
                           sc.attr(0x0026, b"\0" * 1000) +
                           sc.attr(0x0027, struct.pack("!HH", other.getsockname()[1], 0)), sock=s)
            code = sc.find(attrs, 0x0009)
            self.assertEqual(code[2] * 100 + code[3], 400)

    @unittest.skipUnless(shutil.which("turnutils_natdiscovery"), "coturn not installed")
    def test_coturn_natdiscovery_classifies_through_tern(self):
        out = subprocess.run(["turnutils_natdiscovery", "-m", "-f", "-p", str(self.p1), "127.0.0.1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=60).stdout
        print("\n# turnutils_natdiscovery -m -f against tern:\n" + out[-1500:])
        self.assertRegex(out, r"(?i)endpoint.independent.*mapping|mapping.*endpoint.independent|no nat",
                         out)
        self.assertRegex(out, r"(?i)endpoint.independent.*filtering|filtering.*endpoint.independent|no nat",
                         out)
        # It read tern's second address from OTHER-ADDRESS and was answered from it.
        self.assertIn("Other addr: : 127.0.0.2:%d" % self.p2, out)
        self.assertIn("Response origin: : 127.0.0.2:", out)


class NatDiscoveryOffTest(unittest.TestCase):
    def test_change_request_gets_420_by_default(self):
        with Tern() as t:
            attrs, origin = ask(t.addr("udp"), sc.attr(0x0003, struct.pack("!I", 6)))
            self.assertEqual(origin, t.addr("udp"))
            code = sc.find(attrs, 0x0009)
            self.assertEqual(code[2] * 100 + code[3], 420)
            self.assertEqual(sc.find(attrs, 0x000A), b"\x00\x03")


if __name__ == "__main__":
    unittest.main()
