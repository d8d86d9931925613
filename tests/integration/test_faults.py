"""Faults against the real binary: tern killed in the middle of writing the users file, the disk
full while it persists users, a certificate replaced by a half-written file, the files it
writes (users, secrets, the generated REST secret) never readable by others or left behind, and
the wall clock stepped forward and back under live allocations."""
import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import TERN, Tern

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"  # Debian faketime

CONFIG = "auth: {users_file: %s}\n"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory, keep):
    return sorted(set(os.listdir(directory)) - set(keep))


class KilledMidWriteTest(unittest.TestCase):
    def test_users_file_is_old_or_new_whenever_tern_is_killed(self):
        d = tempfile.mkdtemp(prefix="tern-kill-")
        self.addCleanup(shutil.rmtree, d, True)
        users = os.path.join(d, "users")
        # A file large enough that writing it takes a while: 3000 users.
        base = "".join("user%04d password=pw%04d\n" % (i, i) for i in range(3000))
        with open(users, "w") as f:
            f.write(base)
        rng = random.Random(7)
        outcomes = {"old": 0, "new": 0}
        for i in range(12):
            before = open(users).read()
            t = Tern(CONFIG % users).__enter__()
            try:
                add = subprocess.Popen([TERN, "users", "add", "extra%02d" % i, "--socket", t.admin_socket],
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, text=True)
                add.stdin.write("pw\n")
                add.stdin.close()
                time.sleep(rng.uniform(0.0, 0.03))
                t.proc.send_signal(signal.SIGKILL)
                t.proc.wait(5)
                add.wait(5)
            finally:
                t.stop()
                t.tmp.cleanup()
            after = open(users).read()
            if after == before:
                outcomes["old"] += 1
            else:
                self.assertTrue(after.startswith(before) and after[len(before):].startswith("extra%02d " % i),
                                "a mix of old and new:\n%s" % after[-300:])
                self.assertEqual(after.count("\n"), before.count("\n") + 1)
                outcomes["new"] += 1
            # A write killed midway may leave its temporary file: one at most, private.
            left = leftovers(d, ["users"])
            self.assertIn(left, ([], ["users.tmp"]), "temporary files after SIGKILL")
            if left:
                self.assertEqual(mode(os.path.join(d, left[0])), 0o600)
        print("# killed mid-write 12 times: %(old)d old files, %(new)d new ones, no mix" % outcomes)


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
class DiskFullTest(unittest.TestCase):
    def test_disk_full_refuses_the_write_and_keeps_the_file(self):
        d = tempfile.mkdtemp(prefix="tern-full-")
        self.addCleanup(shutil.rmtree, d, True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", d])
        users = os.path.join(d, "users")
        with open(users, "w") as f:
            f.write("alice password=wonderland\n")
        with open(os.path.join(d, "filler"), "wb") as f:  # the disk is full from here on
            try:
                f.write(b"x" * (1 << 20))
            except OSError:
                pass
        with Tern(CONFIG % users) as t:
            code, body, err = t.admin("users", "add", "bob" * 2000, stdin="pw\n")
            self.assertNotEqual(code, 0, "a write to a full disk reported success")
            self.assertIn("No space left", (body or {}).get("error", "") + err)
            self.assertEqual(open(users).read(), "alice password=wonderland\n")
            self.assertEqual(leftovers(d, ["users", "filler"]), [])
            self.assertIsNotNone(sc.udp_exchange(t.addr("udp"), sc.binding_request()[0]))
            os.remove(os.path.join(d, "filler"))
            code, _, err = t.admin("users", "add", "bob", stdin="pw\n")
            self.assertEqual(code, 0, err)
            self.assertIn("bob ", open(users).read())


class PrivateFilesTest(unittest.TestCase):
    def test_written_files_are_private_and_nothing_is_left_behind(self):
        d = tempfile.mkdtemp(prefix="tern-private-")
        self.addCleanup(shutil.rmtree, d, True)
        users = os.path.join(d, "users")
        secrets = os.path.join(d, "secrets")
        for path, text in ((users, "alice password=wonderland\n"), (secrets, "s1\n")):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        old_umask = os.umask(0)  # tern's own modes, not the test's umask, decide
        self.addCleanup(os.umask, old_umask)
        config = "auth: {users_file: %s, secrets_file: %s}\n" % (users, secrets)
        with Tern(config) as t:
            self.assertEqual(t.admin("users", "add", "bob", stdin="pw\n")[0], 0)
            self.assertEqual(t.admin("secrets", "add", stdin="s2\n")[0], 0)
        self.assertEqual(mode(users), 0o600)
        self.assertEqual(mode(secrets), 0o600)
        self.assertEqual(leftovers(d, ["users", "secrets"]), [])
        # The generated REST secret of the embedded default: private from its first byte.
        with Tern("auth: {generated_secret: true}\n") as t:
            state = t.tmp.name
            self.assertEqual(mode(os.path.join(state, "turn-secret")), 0o600)
            self.assertEqual([f for f in os.listdir(state) if ".tmp" in f], [])


class HalfWrittenCertificateTest(unittest.TestCase):
    def test_a_truncated_certificate_is_refused_and_the_old_one_kept(self):
        d = tempfile.mkdtemp(prefix="tern-cert-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=first.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=30)
        with Tern("tls: {cert_file: %s, key_file: %s}\n" % (cert, key)) as t:
            before = ssl.DER_cert_to_PEM_cert(sc.tls_connect(t.addr("tls")).getpeercert(binary_form=True))
            _, status, _ = t.admin("status")
            text = open(cert).read()
            with open(cert, "w") as f:  # written in place, and only half of it
                f.write(text[:len(text) // 2])
            self.assertTrue(sc.wait_until(lambda: any("config_reload_failed" in l for l in t.output), 10),
                            "no reload failure logged for a half-written certificate")
            _, after, _ = t.admin("status")
            self.assertEqual(after["config_generation"], status["config_generation"])
            with sc.tls_connect(t.addr("tls")) as conn:
                self.assertEqual(ssl.DER_cert_to_PEM_cert(conn.getpeercert(binary_form=True)), before)


class PeerFaultsTest(unittest.TestCase):
    """A peer that answers with datagrams larger than tern reads, and a storm of ICMP port
    unreachable errors: both are dropped or reported, and relaying goes on."""

    def setUp(self):
        config = ("relay: {address: 127.0.0.1, min_port: 46420, max_port: 46429}\n"
                  "auth: {users: [{name: alice, password: wonderland}]}\npeers: {allow: [127.0.0.2/32]}\n")
        self.t = Tern(config).__enter__()
        self.addCleanup(self.t.__exit__, None, None, None)
        self.c = tc.TurnClient(self.t.addr("udp"), "alice", "wonderland")
        self.addCleanup(self.c.close)
        self.assertEqual(self.c.allocate()[0], 0x0103)
        self.assertEqual(self.c.create_permission("127.0.0.2")[0], 0x0108)
        self.peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(self.peer.close)
        self.peer.bind(("127.0.0.2", 0))
        self.peer.settimeout(2)

    def round_trip(self, text):
        self.c.send_indication("127.0.0.2", self.peer.getsockname()[1], text)
        data, relay = self.peer.recvfrom(100)
        self.assertEqual(data, text)
        self.peer.sendto(text + b" back", relay)
        while True:
            got = self.c.receive()
            self.assertIsNotNone(got, "nothing came back for %r" % text)
            mtype, _, attrs, _ = got
            data = sc.find(attrs, 0x0013) or b""
            self.assertLessEqual(len(data), 4096, "a datagram larger than tern reads was relayed")
            if mtype == tc.DATA_INDICATION and data == text + b" back":
                return relay

    def test_datagrams_larger_than_tern_reads_are_dropped_and_counted(self):
        relay = self.round_trip(b"before")
        before = self.t.metric("tern_dropped_packets_total", 'reason="too_large"')
        for _ in range(50):
            self.peer.sendto(b"x" * 60000, relay)
        self.round_trip(b"after")
        dropped = self.t.metric("tern_dropped_packets_total", 'reason="too_large"') - before
        print("# 50 datagrams of 60,000 B from a peer: %d counted as too_large (the rest the kernel "
              "dropped before tern read them), none reached the client" % dropped)
        self.assertTrue(0 < dropped <= 50, dropped)

    def test_icmp_storm_is_reported_without_amplification_and_relaying_goes_on(self):
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.2", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there: each datagram draws a port unreachable
        storm = 2000
        for i in range(storm):
            self.c.send_indication("127.0.0.2", port, b"into the void %d" % i)
        reported = 0
        while self.c.receive(timeout=0.5) is not None:
            reported += 1
        print("# ICMP storm: %d datagrams to a closed port, %d ICMP reports to the client" % (storm, reported))
        self.assertLessEqual(reported, storm)
        self.assertTrue(self.t.alive())
        self.round_trip(b"still relaying")


RESTART_CONFIG = """
realm: test.local
workers: 2
state_dir: {state}
admin: {{socket: {state}/admin.sock}}
listen: [{{transport: udp, address: 127.0.0.1, port: {port}}}]
relay: {{address: 127.0.0.1, min_port: 46460, max_port: 46499}}
auth: {{users_file: {users}}}
peers: {{allow: [127.0.0.2/32]}}
metrics: {{listen: "127.0.0.1:0"}}
"""


class KilledUnderLoadTest(unittest.TestCase):
    """SIGKILL while 20 clients relay, then a restart on the same port: the users file is
    intact, every client allocates again and relays again."""

    CLIENTS = 20

    def relay_all(self, clients, peer, tag):
        """Each client sends one Send indication; returns how many reached the peer."""
        for i, c in enumerate(clients):
            c.send_indication("127.0.0.2", peer.getsockname()[1], b"%s %d" % (tag, i))
        got = set()
        peer.settimeout(1)
        try:
            while len(got) < len(clients):
                got.add(peer.recvfrom(100)[0])
        except socket.timeout:
            pass
        return len(got)

    def test_clients_allocate_again_after_a_kill_and_restart(self):
        d = tempfile.mkdtemp(prefix="tern-restart-")
        self.addCleanup(shutil.rmtree, d, True)
        users = os.path.join(d, "users")
        with open(users, "w") as f:
            f.write("alice password=wonderland\n")
        with open(users) as f:
            users_before = f.read()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        config = RESTART_CONFIG.format(state=d, port=port, users=users)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(peer.close)
        peer.bind(("127.0.0.2", 0))

        first = Tern(config=config).__enter__()
        clients = []
        for _ in range(self.CLIENTS):
            c = tc.TurnClient(("127.0.0.1", port), "alice", "wonderland")
            self.addCleanup(c.close)
            self.assertEqual(c.allocate()[0], 0x0103)
            self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
            clients.append(c)
        self.assertEqual(self.relay_all(clients, peer, b"before"), self.CLIENTS)
        # Under load: a burst of Send indications is in flight when the kill lands.
        for i in range(200):
            clients[i % self.CLIENTS].send_indication("127.0.0.2", peer.getsockname()[1], b"load")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        first.tmp.cleanup()
        with open(users) as f:
            self.assertEqual(f.read(), users_before, "the users file changed under a kill")
        while True:  # what the kill left in flight
            peer.settimeout(0.2)
            try:
                peer.recvfrom(100)
            except socket.timeout:
                break

        restarted = time.monotonic()
        second = Tern(config=config).__enter__()
        self.addCleanup(second.__exit__, None, None, None)
        started = time.monotonic() - restarted
        codes = []
        for c in clients:  # a real client sees its Refresh fail and allocates again
            mtype, _, attrs = c.request(tc.REFRESH)
            codes.append(tc.error_code(attrs) if attrs is not None else None)
            c.nonce = None
            again = c.allocate()[0]
            self.assertEqual(again, 0x0103, "re-allocation after the restart")
            self.assertEqual(c.create_permission("127.0.0.2")[0], 0x0108)
        relayed = self.relay_all(clients, peer, b"after")
        took = time.monotonic() - restarted
        print("\n# SIGKILL under load, restart on the same port: tern up in %.2f s, old allocations "
              "answered %s, %d/%d clients allocated again and relayed %.2f s after the restart"
              % (started, sorted(set(codes)), relayed, self.CLIENTS, took))
        self.assertTrue(all(code in (401, 437, 438) for code in codes), codes)
        self.assertEqual(relayed, self.CLIENTS)
        self.assertEqual(second.metric("tern_allocations_active"), self.CLIENTS)


def rest_credential(secret, expiry, name="clock"):
    user = "%d:%s" % (expiry, name)
    return user, base64.b64encode(hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()).decode()


@unittest.skipUnless(os.path.exists(FAKETIME), "needs Debian's faketime (scripts/setup.sh --test)")
class ClockStepTest(unittest.TestCase):
    """Lifetimes run on the monotonic clock; TURN REST expiry is wall time. libfaketime steps
    tern's wall clock (not its monotonic clock) while allocations live."""

    def set_offset(self, offset):
        with open(self.offset, "w") as f:
            f.write(offset + "\n")
        time.sleep(1.5)  # longer than the one-second sweep of expired allocations

    def allocations(self, t):
        code, body, err = t.admin("sessions", "list")
        self.assertEqual(code, 0, err)
        return body["sessions"] if isinstance(body, dict) else body

    def test_wall_clock_steps_forward_and_back(self):
        d = tempfile.mkdtemp(prefix="tern-clock-")
        self.addCleanup(shutil.rmtree, d, True)
        self.offset = os.path.join(d, "offset")
        self.set_offset("+0")
        env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": self.offset, "FAKETIME_NO_CACHE": "1",
               "FAKETIME_DONT_FAKE_MONOTONIC": "1", "NO_FAKE_STAT": "1",
               # Under ASan the preloaded libfaketime comes before the sanitizer runtime.
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        config = "auth: {secrets: [s1]}\nrelay: {address: 127.0.0.1, min_port: 46400, max_port: 46409}\n"
        with Tern(config, env=env) as t:
            now = int(time.time())
            held = tc.TurnClient(t.addr("udp"), *rest_credential("s1", now + 1800))
            self.addCleanup(held.close)
            self.assertEqual(held.allocate()[0], 0x0103)

            self.set_offset("+2h")  # the wall clock jumps two hours ahead
            live = self.allocations(t)
            self.assertEqual(len(live), 1, "a wall-clock step ended an allocation: %r" % live)
            self.assertTrue(0 < live[0]["expires_in_seconds"] <= 600, live)
            late = tc.TurnClient(t.addr("udp"), *rest_credential("s1", now + 1800, "late"))
            self.addCleanup(late.close)
            self.assertEqual(tc.error_code(late.allocate()[2]), 401,
                             "a REST credential expired by wall time was accepted")
            ahead = tc.TurnClient(t.addr("udp"), *rest_credential("s1", now + 7200 + 600, "ahead"))
            self.addCleanup(ahead.close)
            self.assertEqual(ahead.allocate()[0], 0x0103)
            self.assertEqual(held.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\2\x58"))[0], 0x0104)

            self.set_offset("+0")  # and back
            self.assertEqual(len(self.allocations(t)), 2)
            back = tc.TurnClient(t.addr("udp"), *rest_credential("s1", now + 600, "back"))
            self.addCleanup(back.close)
            self.assertEqual(back.allocate()[0], 0x0103)
            self.assertTrue(all(0 < a["expires_in_seconds"] <= 600 for a in self.allocations(t)))
        self.assertFalse(any('"level":"error"' in l or " error " in l for l in t.output), "".join(t.output))


if __name__ == "__main__":
    unittest.main()
