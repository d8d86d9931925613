"""Binding over UDP, TCP and TLS against the real tern binary on loopback."""
import glob
import os
import socket
import ssl
import struct
import unittest

import stun_client as sc
from harness import Tern

VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors", "data")


def vector(name):
    with open(os.path.join(VECTORS, name)) as f:
        hexdigits = "".join(l for l in f if not l.startswith("#")).split()
    return bytes.fromhex("".join(hexdigits))


class BindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tern = Tern().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)

    def udp_binding(self, sock, **kw):
        req, tid = sc.binding_request(**kw)
        reply = sc.udp_exchange(self.tern.addr("udp"), req, sock=sock)
        self.assertIsNotNone(reply, "no Binding response over UDP")
        return sc.parse(reply), tid

    def test_udp_binding_maps_source_address(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        (mtype, rtid, attrs, _), tid = self.udp_binding(s)
        self.assertEqual(mtype, 0x0101)
        self.assertEqual(rtid, tid)
        self.assertEqual(sc.xor_address(sc.find(attrs, 0x0020), tid), s.getsockname())
        self.assertIsNone(sc.find(attrs, 0x8022), "SOFTWARE sent although not configured")
        self.assertIsNone(sc.find(attrs, 0x8028), "FINGERPRINT sent although request had none")
        self.assertIsNone(sc.find(attrs, 0x0001), "MAPPED-ADDRESS sent to an RFC 8489 client")
        s.close()

    def test_fingerprint_echoed(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        (mtype, _, attrs, _), _ = self.udp_binding(s, fingerprint=True)
        self.assertEqual(mtype, 0x0101)
        self.assertEqual(attrs[-1][0], 0x8028)
        s.close()

    def test_unknown_comprehension_required_gets_420(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        (mtype, _, attrs, _), _ = self.udp_binding(s, attrs=sc.attr(0x7FFF, b"abcd"))
        self.assertEqual(mtype, 0x0111)
        err = sc.find(attrs, 0x0009)
        self.assertEqual(err[2] * 100 + err[3], 420)
        self.assertEqual(sc.find(attrs, 0x000A), struct.pack("!H", 0x7FFF))
        (mtype, _, _, _), _ = self.udp_binding(s, attrs=sc.attr(0x8FFF, b"abcd"))
        self.assertEqual(mtype, 0x0101, "unknown comprehension-optional must be ignored")
        s.close()

    def test_rfc5769_request_vector_answered(self):
        raw = vector("rfc5769_2.1_sample_request.hex")
        reply = sc.udp_exchange(self.tern.addr("udp"), raw)
        self.assertIsNotNone(reply)
        mtype, tid, attrs, _ = sc.parse(reply)
        self.assertEqual(mtype, 0x0101)
        self.assertEqual(tid, raw[8:20])

    def test_malformed_input_is_silent_and_server_keeps_answering(self):
        bad = [vector(os.path.basename(p)) for p in sorted(glob.glob(os.path.join(VECTORS, "neg_*.hex")))
               if "unknown_comprehension" not in p]
        bad += [b"", b"\x00", b"\x00\x01\x00\x00", os.urandom(19), b"\xff" * 64,
                sc.binding_request(cookie=0x2112A443)[0],           # classic: off by default
                sc.message(0x0011)[0],                               # Binding indication
                sc.message(0x0101)[0],                               # a response sent to us
                sc.binding_request(fingerprint=True)[0][:-1] + b"\x00"]  # bad FINGERPRINT
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for payload in bad:
            self.assertIsNone(sc.udp_exchange(self.tern.addr("udp"), payload, timeout=0.3, sock=s),
                              "reply to malformed input %r" % payload[:8])
        (mtype, _, _, _), _ = self.udp_binding(s)
        self.assertEqual(mtype, 0x0101)
        self.assertTrue(self.tern.alive())
        s.close()

    def test_tcp_binding_and_framing(self):
        with socket.create_connection(self.tern.addr("tcp"), timeout=3) as s:
            reqs = [sc.binding_request() for _ in range(3)]
            # Three requests in one write, then one split across writes.
            s.sendall(b"".join(r for r, _ in reqs))
            for _, tid in reqs:
                mtype, rtid, attrs, _ = sc.parse(sc.recv_frame(s))
                self.assertEqual((mtype, rtid), (0x0101, tid))
                self.assertEqual(sc.xor_address(sc.find(attrs, 0x0020), tid), s.getsockname())
            req, tid = sc.binding_request()
            s.sendall(req[:7])
            s.sendall(req[7:])
            self.assertEqual(sc.parse(sc.recv_frame(s))[1], tid)

    def test_tcp_garbage_closes_connection(self):
        with socket.create_connection(self.tern.addr("tcp"), timeout=3) as s:
            # A TLS ClientHello on the plain TCP port: first byte 0x16 is neither STUN nor
            # ChannelData (RFC 7983), so the stream cannot be framed and is closed.
            s.sendall(b"\x16\x03\x01\x00\x05hello")
            s.settimeout(3)
            self.assertEqual(s.recv(100), b"")

    def test_tls_binding(self):
        with sc.tls_connect(self.tern.addr("tls")) as s:
            self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
            req, tid = sc.binding_request()
            s.sendall(req)
            mtype, rtid, attrs, _ = sc.parse(sc.recv_frame(s))
            self.assertEqual((mtype, rtid), (0x0101, tid))
            self.assertEqual(sc.xor_address(sc.find(attrs, 0x0020), tid), s.getsockname())

    def test_tls_1_1_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            with socket.create_connection(self.tern.addr("tls"), timeout=3) as raw:
                with ctx.wrap_socket(raw):
                    pass


class OptionsTest(unittest.TestCase):
    def test_software_when_configured(self):
        with Tern('software: "tern-test"\n') as t:
            req, tid = sc.binding_request()
            _, _, attrs, _ = sc.parse(sc.udp_exchange(t.addr("udp"), req))
            self.assertEqual(sc.find(attrs, 0x8022), b"tern-test")

    def test_rfc3489_classic_only_when_enabled(self):
        classic, _ = sc.binding_request(cookie=0x01020304)
        with Tern() as t:
            self.assertIsNone(sc.udp_exchange(t.addr("udp"), classic, timeout=0.5))
        with Tern("stun: {rfc3489: true}\n") as t:
            reply = sc.udp_exchange(t.addr("udp"), classic)
            self.assertIsNotNone(reply)
            mtype, _, attrs, cookie = sc.parse(reply)
            self.assertEqual((mtype, cookie, reply[4:20]), (0x0101, 0x01020304, classic[4:20]))
            s_ip, s_port = sc.plain_address(sc.find(attrs, 0x0001))
            self.assertEqual(s_ip, "127.0.0.1")
            self.assertIsNone(sc.find(attrs, 0x0020))

    def test_connection_limit(self):
        with Tern("connections: {max: 2}\n") as t:
            a = socket.create_connection(t.addr("tcp"), timeout=3)
            b = socket.create_connection(t.addr("tcp"), timeout=3)
            for s in (a, b):
                req, tid = sc.binding_request()
                s.sendall(req)
                self.assertEqual(sc.parse(sc.recv_frame(s))[1], tid)
            c = socket.create_connection(t.addr("tcp"), timeout=3)
            c.settimeout(3)
            self.assertEqual(c.recv(10), b"", "third connection over the limit was not closed")
            for s in (a, b, c):
                s.close()

    def test_idle_timeout_closes_connection(self):
        with Tern("connections: {idle_timeout: 1s}\n") as t:
            with socket.create_connection(t.addr("tcp"), timeout=5) as s:
                self.assertEqual(s.recv(10), b"")


if __name__ == "__main__":
    unittest.main()
