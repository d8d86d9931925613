"""What a first real deployment meets on tern's defaults: quotas that serve shared names, and
credentials that work for RFC 8489 and legacy clients alike (the real binary on loopback)."""
import base64
import hashlib
import hmac
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern

SECRET = "first-hour-secret"
# No `limits:`: the defaults are under test. Wide relay range for 50+ allocations.
CONFIG = """
relay: {address: 127.0.0.1, min_port: 46000, max_port: 46199}
auth:
  users: [{name: alice, password: wonderland}]
  secrets: [%s]
""" % SECRET
REST_ONLY = """
relay: {address: 127.0.0.1, min_port: 46200, max_port: 46209}
auth: {secrets: [%s]}
""" % SECRET
USERS_ONLY = """
relay: {address: 127.0.0.1, min_port: 46210, max_port: 46219}
auth: {users: [{name: alice, password: wonderland}]}
"""


def rest_credential(name="shared", ttl=3600):
    user = "%d:%s" % (int(time.time()) + ttl, name)
    password = base64.b64encode(hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest())
    return user, password.decode()


def release(client):
    client.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
    client.close()


class DefaultQuotaTest(unittest.TestCase):
    def test_fifty_concurrent_allocations_under_one_rest_name(self):
        # A demo page or an app that hands one REST name to many visitors: each browser makes
        # one allocation per TURN URL. On the defaults none of them is refused.
        user, password = rest_credential()
        with Tern(CONFIG) as t:
            clients = []
            try:
                for i in range(50):
                    c = tc.TurnClient(t.addr("udp"), user, password)
                    clients.append(c)
                    mtype, _, attrs = c.allocate()
                    self.assertEqual(mtype, 0x0103, "allocation %d: error %s" %
                                     (i, tc.error_code(attrs or [])))
            finally:
                for c in clients:
                    release(c)


class CredentialKindsTest(unittest.TestCase):
    """Static users and REST names, each with an RFC 8489 client (SHA-256, USERHASH when the
    nonce offers username anonymity) and a legacy RFC 5389 client (USERNAME, MD5)."""

    def allocate(self, t, user, password, rfc8489):
        c = tc.TurnClient(t.addr("udp"), user, password, rfc8489=rfc8489)
        try:
            mtype, _, attrs = c.allocate()
            return mtype, attrs, c.algorithm, c.used_userhash
        finally:
            release(c)

    def check_all(self, config, expect_userhash):
        with Tern(config) as t:
            kinds = []
            if "users:" in config:
                kinds.append(("static", "alice", "wonderland"))
            if "secrets:" in config:
                kinds.append(("rest", *rest_credential("visitor")))
            for kind, user, password in kinds:
                for rfc8489 in (True, False):
                    what = "%s user, %s client" % (kind, "RFC 8489" if rfc8489 else "legacy MD5")
                    mtype, attrs, algorithm, userhash = self.allocate(t, user, password, rfc8489)
                    self.assertEqual(mtype, 0x0103, "%s: error %s" % (what, tc.error_code(attrs)))
                    self.assertEqual(algorithm, tc.SHA256 if rfc8489 else tc.MD5, what)
                    self.assertEqual(userhash, rfc8489 and expect_userhash, what)
                    self.assertIsNotNone(sc.find(attrs, 0x001C if rfc8489 else 0x0008), what)

    def test_rest_secrets_turn_username_anonymity_off(self):
        # A USERHASH cannot name an ephemeral REST credential: tern must not ask for one.
        self.check_all(REST_ONLY, expect_userhash=False)

    def test_static_users_and_rest_together(self):
        self.check_all(CONFIG, expect_userhash=False)

    def test_static_users_only_offer_username_anonymity(self):
        self.check_all(USERS_ONLY, expect_userhash=True)



class DescriptorLimitTest(unittest.TestCase):
    """Every UDP allocation holds a descriptor: tern raises a low soft limit to the hard one."""

    def test_soft_limit_is_raised_to_the_hard_limit(self):
        import resource
        hard = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        with Tern(nofile=(256, hard)) as t:
            with open("/proc/%d/limits" % t.proc.pid) as f:
                line = next(l for l in f if l.startswith("Max open files"))
            self.assertEqual(line.split()[3:5], [str(hard), str(hard)], line)


if __name__ == "__main__":
    unittest.main()
