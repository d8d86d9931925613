"""Signaling listener routes on the real binary: the demo page and /api/ice-servers."""
import json
import unittest
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


if __name__ == "__main__":
    unittest.main()
