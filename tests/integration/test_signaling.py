"""Signaling listener routes on the real binary: the demo page and /api/ice-servers."""
import json
import unittest
import urllib.error
import urllib.request

from harness import Tern

CONFIG = """
auth: {secrets: [sig-secret]}
signaling: {listen: "127.0.0.1:0", ice_host: turn.example.org}
"""


class SignalingRoutesTest(unittest.TestCase):
    def ice_servers(self, t, query=""):
        ip, port = t.addr("signaling")
        url = "http://%s:%d/api/ice-servers%s" % (ip, port, query)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def test_ice_servers_use_the_configured_host_name(self):
        with Tern(CONFIG) as t:
            body = self.ice_servers(t)
            stun, turn = body["iceServers"]
            # A stun: URL of the same node, without credentials (no allocation is spent on it).
            self.assertEqual(stun["urls"], ["stun:turn.example.org:%d" % t.addr("udp")[1]])
            self.assertNotIn("username", stun)
            urls = turn["urls"]
            self.assertEqual(len(urls), 3)
            self.assertTrue(all(":" in u and "turn.example.org:" in u for u in urls), urls)
            self.assertTrue(any(u.startswith("turns:turn.example.org:") for u in urls))
            ip, port = t.addr("signaling")
            with urllib.request.urlopen("http://%s:%d/" % (ip, port), timeout=5) as r:
                self.assertIn(b"<html", r.read())
                self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")

    def test_each_visitor_gets_a_distinct_name(self):
        # One shared name would put every visitor under one per-user quota and one session name.
        with Tern(CONFIG) as t:
            names = [self.ice_servers(t)["iceServers"][1]["username"] for _ in range(20)]
            self.assertEqual(len(set(names)), 20, names)
            for n in names:
                self.assertRegex(n, r"^\d+:[0-9a-f]{16}$")
            # A backend may name its user; the name must not forge an expiry or a separator.
            self.assertRegex(self.ice_servers(t, "?user=alice.b@example-1")["iceServers"][1]
                             ["username"], r"^\d+:alice\.b@example-1$")
            for bad in ("?user=", "?user=a:b", "?user=" + "x" * 65, "?user=%20"):
                with self.assertRaises(urllib.error.HTTPError) as e:
                    self.ice_servers(t, bad)
                self.assertEqual(e.exception.code, 400, bad)

    def test_a_proxied_loopback_request_needs_the_token(self):
        # A reverse proxy on the tern host connects from loopback; the header it adds shows the
        # request is someone else's, so /api/ice-servers asks for the token as off loopback.
        with Tern(CONFIG.replace("ice_host:", "token: tok, ice_host:")) as t:
            ip, port = t.addr("signaling")
            url = "http://%s:%d/api/ice-servers" % (ip, port)
            for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
                req = urllib.request.Request(url, headers={header: "198.51.100.7"})
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(req, timeout=5)
                self.assertEqual(e.exception.code, 401, header)
                req = urllib.request.Request(
                    url, headers={header: "198.51.100.7", "Authorization": "Bearer tok"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    self.assertIn("iceServers", json.load(r))
            with urllib.request.urlopen(url, timeout=5) as r:  # direct from loopback: no token
                self.assertIn("iceServers", json.load(r))


if __name__ == "__main__":
    unittest.main()
