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
    def test_ice_servers_use_the_configured_host_name(self):
        with Tern(CONFIG) as t:
            ip, port = t.addr("signaling")
            with urllib.request.urlopen("http://%s:%d/api/ice-servers" % (ip, port), timeout=5) as r:
                body = json.load(r)
            urls = body["iceServers"][0]["urls"]
            self.assertEqual(len(urls), 3)
            self.assertTrue(all(":" in u and "turn.example.org:" in u for u in urls), urls)
            self.assertTrue(any(u.startswith("turns:turn.example.org:") for u in urls))
            self.assertTrue(body["iceServers"][0]["username"].endswith(":demo"))
            with urllib.request.urlopen("http://%s:%d/" % (ip, port), timeout=5) as r:
                self.assertIn(b"<html", r.read())
                self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")


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
