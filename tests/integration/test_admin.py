"""Live credentials and administration against the real binary: rotation, reload, drain, CLI."""
import base64
import hashlib
import hmac
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern, TERN
from test_turn_interop import PEER_IP, free_udp_port, turnutils_peer

CONFIG = """
relay: {{address: 127.0.0.1, rfc5766_channels: true, min_port: 46000, max_port: 46999}}
auth:
  users_file: {users}
  secrets_file: {secrets}
peers: {{allow: [127.0.0.2/32]}}
limits: {{allocations_per_user: 100}}
"""


def rest_credential(secret, user="web", ttl=600):
    name = "%d:%s" % (time.time() + ttl, user)
    return name, base64.b64encode(hmac.new(secret.encode(), name.encode(),
                                           hashlib.sha1).digest()).decode()


def fingerprint(secret):
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


class AdminTest(unittest.TestCase):
    def setUp(self):
        self.dir = __import__("tempfile").mkdtemp(prefix="tern-admin-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.users = os.path.join(self.dir, "users")
        self.secrets = os.path.join(self.dir, "secrets")
        with open(self.users, "w") as f:
            f.write("alice password=wonderland\n")
        with open(self.secrets, "w") as f:
            f.write("secret-a\n")

    def start(self, extra=""):
        t = Tern(CONFIG.format(users=self.users, secrets=self.secrets) + extra).__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        return t

    def client(self, t, user, password):
        c = tc.TurnClient(t.addr("udp"), user, password)
        self.addCleanup(c.close)
        return c

    def test_secret_rotation_keeps_live_allocations(self):
        t = self.start()
        user_a, pass_a = rest_credential("secret-a")
        live = self.client(t, user_a, pass_a)
        self.assertEqual(live.allocate()[0], 0x0103)
        self.assertEqual(live.create_permission("127.0.0.2")[0], 0x0108)
        code, body, err = t.admin("secrets", "add", stdin="secret-b\n")
        self.assertEqual(code, 0, err)
        code, body, err = t.admin("secrets", "promote", fingerprint("secret-b"))
        self.assertEqual(code, 0, err)
        code, body, err = t.admin("secrets", "remove", fingerprint("secret-a"))
        self.assertEqual(code, 0, err)
        code, body, _ = t.admin("secrets", "list")
        self.assertEqual(body["secrets"], [{"fingerprint": fingerprint("secret-b"), "signs": True}])
        with open(self.secrets) as f:
            self.assertNotIn("secret-a", f.read())
        # The allocation made with secret A still refreshes and relays.
        self.assertEqual(live.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\2\x58"))[0], 0x0104)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(peer.close)
        peer.bind(("127.0.0.2", 0))
        peer.settimeout(2)
        self.assertEqual(live.create_permission("127.0.0.2")[0], 0x0108)
        live.send_indication("127.0.0.2", peer.getsockname()[1], b"still here")
        self.assertEqual(peer.recvfrom(100)[0], b"still here")
        # A fresh credential from A is refused, one from B works.
        fresh_a = self.client(t, *rest_credential("secret-a", "late"))
        mtype, _, attrs = fresh_a.allocate()
        self.assertEqual(tc.error_code(attrs), 401)
        fresh_b = self.client(t, *rest_credential("secret-b", "late"))
        self.assertEqual(fresh_b.allocate()[0], 0x0103)
        # `tern credentials` mints from the signing secret (B).
        code, body, err = t.admin("credentials", "--user", "cli", "--ttl", "10m")
        self.assertEqual(code, 0, err)
        self.assertTrue(body["username"].endswith(":cli"))
        self.assertIn("turn:", body["iceServers"][0]["urls"][0])
        minted = self.client(t, body["username"], body["credential"])
        self.assertEqual(minted.allocate()[0], 0x0103)

    def test_broken_config_on_reload_keeps_the_old_one(self):
        t = self.start()
        _, status, _ = t.admin("status")
        with open(t.config_path, "a") as f:
            f.write("limits: {allocations_per_user: lots}\n")
        code, body, err = t.admin("reload")
        self.assertNotEqual(code, 0)
        self.assertIn("allocations_per_user", body["error"])
        _, after, _ = t.admin("status")
        self.assertEqual(after["config_generation"], status["config_generation"])
        c = self.client(t, "alice", "wonderland")
        self.assertEqual(c.allocate()[0], 0x0103)
        self.assertTrue(any("config_reload_failed" in l for l in t.output))

    def test_sighup_and_watched_files_reload_users(self):
        t = self.start()
        with open(self.users, "a") as f:
            f.write(subprocess.run([TERN, "key", "--user", "bob", "--realm", "test.local"],
                                   input="builder\n", stdout=subprocess.PIPE, text=True).stdout)
        # The users file is watched: bob can log in without anyone signalling tern.
        self.assertTrue(sc.wait_until(lambda: t.admin("status")[1]["config_generation"] > 1, 10))
        c = self.client(t, "bob", "builder")
        self.assertEqual(c.allocate()[0], 0x0103)
        before = t.admin("status")[1]["config_generation"]
        t.proc.send_signal(signal.SIGHUP)
        self.assertTrue(sc.wait_until(
            lambda: t.admin("status")[1]["config_generation"] == before + 1, 10))

    def test_removing_a_user_and_killing_sessions_end_allocations(self):
        t = self.start()
        code, _, err = t.admin("users", "add", "carol", stdin="c4rol\n")
        self.assertEqual(code, 0, err)
        carol = self.client(t, "carol", "c4rol")
        self.assertEqual(carol.allocate()[0], 0x0103)
        alice = self.client(t, "alice", "wonderland")
        self.assertEqual(alice.allocate()[0], 0x0103)
        _, body, _ = t.admin("sessions", "list", "--user", "carol")
        self.assertEqual(len(body["sessions"]), 1)
        code, _, err = t.admin("users", "remove", "carol")
        self.assertEqual(code, 0, err)
        self.assertEqual(t.admin("sessions", "list", "--user", "carol")[1]["sessions"], [])
        refresh = carol.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\2\x58"))
        self.assertEqual(tc.error_code(refresh[2]), 401)
        code, body, _ = t.admin("sessions", "kill", "--user", "alice")
        self.assertEqual(body["ended"], 1)
        self.assertEqual(tc.error_code(alice.request(tc.REFRESH, b"")[2]), 437)

    def test_drain_refuses_new_allocations_keeps_old_and_exits_at_deadline(self):
        t = self.start()
        old = self.client(t, "alice", "wonderland")
        self.assertEqual(old.allocate()[0], 0x0103)
        code, _, err = t.admin("drain", "--deadline", "3s")
        self.assertEqual(code, 0, err)
        new = self.client(t, "alice", "wonderland")
        mtype, _, attrs = new.allocate()
        self.assertEqual(tc.error_code(attrs), 508)
        self.assertEqual(old.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\2\x58"))[0], 0x0104)
        self.assertEqual(t.proc.wait(10), 0)

    def test_drain_with_alternate_servers_answers_300(self):
        t = self.start("alternate_servers: [\"203.0.113.7:3478\"]\n")
        keep = self.client(t, "alice", "wonderland")
        self.assertEqual(keep.allocate()[0], 0x0103)  # keeps tern draining, not exiting
        self.assertEqual(t.admin("drain", "--deadline", "1m")[0], 0)
        c = self.client(t, "alice", "wonderland")
        mtype, tid, attrs = c.allocate()
        self.assertEqual(tc.error_code(attrs), 300)
        self.assertEqual(sc.plain_address(sc.find(attrs, 0x8023)), ("203.0.113.7", 3478))
        self.assertEqual(t.admin("status")[1]["draining"], True)

    def test_sigterm_drains_and_exits_when_no_allocation_is_left(self):
        t = self.start()
        c = self.client(t, "alice", "wonderland")
        self.assertEqual(c.allocate()[0], 0x0103)
        t.proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        self.assertIsNone(t.proc.poll(), "exited while an allocation was live")
        self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))[0], 0x0104)
        self.assertEqual(t.proc.wait(10), 0)

    def test_certificate_replacement_reaches_new_handshakes_only(self):
        cert = os.path.join(self.dir, "tls.crt")
        key = os.path.join(self.dir, "tls.key")

        def make_cert(cn):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                            "-subj", "/CN=" + cn, "-keyout", key + ".new", "-out", cert + ".new"],
                           check=True, capture_output=True, timeout=30)
            os.replace(key + ".new", key)
            os.replace(cert + ".new", cert)

        def peer_cn(conn):
            der = conn.getpeercert(binary_form=True)
            pem = ssl.DER_cert_to_PEM_cert(der)
            out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem,
                                 capture_output=True, text=True).stdout
            return out.strip().split("=")[-1].strip()

        make_cert("first.test")
        t = self.start("tls: {cert_file: %s, key_file: %s}\n" % (cert, key))
        old = sc.tls_connect(t.addr("tls"))
        self.addCleanup(old.close)
        self.assertEqual(peer_cn(old), "first.test")
        make_cert("second.test")
        self.assertTrue(sc.wait_until(lambda: t.admin("status")[1]["config_generation"] > 1, 10))
        with sc.tls_connect(t.addr("tls")) as new:
            self.assertEqual(peer_cn(new), "second.test")
        req, tid = sc.binding_request()
        old.sendall(req)
        self.assertEqual(sc.parse(sc.recv_frame(old))[1], tid)  # the old connection lives on

    def test_listener_changes_open_and_close_only_what_changed(self):
        t = self.start()
        c = self.client(t, "alice", "wonderland")
        self.assertEqual(c.allocate()[0], 0x0103)
        udp = t.addr("udp")
        tcp = t.addr("tcp")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        new_port = s.getsockname()[1]
        s.close()
        with open(t.config_path) as f:
            text = f.read()
        text = text.replace('  - {transport: udp, address: "127.0.0.1", port: 0}',
                            '  - {transport: udp, address: "127.0.0.1", port: 0}\n'
                            '  - {transport: udp, address: "127.0.0.1", port: %d}' % new_port)
        text = text.replace('  - {transport: tcp, address: "127.0.0.1", port: 0}\n', '')
        with open(t.config_path, "w") as f:
            f.write(text)
        code, body, err = t.admin("reload")
        self.assertEqual(code, 0, err)
        listeners = t.admin("status")[1]["listeners"]
        self.assertIn("udp 127.0.0.1:%d" % new_port, listeners)
        self.assertIn("udp %s:%d" % udp, listeners)
        self.assertNotIn("tcp %s:%d" % tcp, listeners)
        self.assertIsNotNone(sc.udp_exchange(("127.0.0.1", new_port), sc.binding_request()[0]))
        with self.assertRaises(OSError):
            socket.create_connection(tcp, timeout=2).close()
        # The allocation on the listener that stayed is untouched.
        self.assertEqual(c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\2\x58"))[0], 0x0104)

    def test_status_and_errors(self):
        t = self.start()
        code, body, _ = t.admin("status")
        self.assertEqual(code, 0)
        self.assertEqual(body["allocations"], 0)
        self.assertFalse(body["draining"])
        self.assertTrue(any(l.startswith("udp ") for l in body["listeners"]))
        code, body, _ = t.admin("users", "remove", "nobody")
        self.assertNotEqual(code, 0)
        p = subprocess.run([TERN, "status", "--socket", "/nonexistent/admin.sock"],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot reach tern", p.stderr)
        self.assertEqual(oct(os.stat(t.admin_socket).st_mode & 0o777), "0o600")


@unittest.skipUnless(shutil.which("turnutils_uclient"), "coturn not installed")
class ReloadUnderLoadTest(unittest.TestCase):
    def test_uclient_loses_nothing_during_reloads(self):
        d = __import__("tempfile").mkdtemp(prefix="tern-admin-")
        self.addCleanup(shutil.rmtree, d, True)
        users, secrets = os.path.join(d, "users"), os.path.join(d, "secrets")
        with open(users, "w") as f:
            f.write("alice password=wonderland\n")
        with open(secrets, "w") as f:
            f.write("north\n")
        with Tern(CONFIG.format(users=users, secrets=secrets)) as t:
            port = free_udp_port(PEER_IP)  # 127.0.0.2
            peer = turnutils_peer(port)
            try:
                client = subprocess.Popen(
                    ["turnutils_uclient", "-u", "alice", "-w", "wonderland", "-p",
                     str(t.addr("udp")[1]), "-n", "200", "-z", "20", "-m", "2", "-l", "120",
                     "-e", "127.0.0.2", "-r", str(port), "127.0.0.1"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(3):
                    time.sleep(1)
                    t.proc.send_signal(signal.SIGHUP)
                time.sleep(0.5)
                self.assertEqual(t.admin("reload")[0], 0)
                out, _ = client.communicate(timeout=60)
            finally:
                peer.terminate()
                peer.wait(10)
            self.assertRegex(out, r"tot_send_msgs=400, tot_recv_msgs=400")
            self.assertIn("Total lost packets 0 (", out)
            self.assertGreaterEqual(sum("config_reloaded" in l for l in t.output), 4)


if __name__ == "__main__":
    unittest.main()
