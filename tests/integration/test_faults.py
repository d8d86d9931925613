"""Faults against the real binary: tern killed in the middle of writing the users file, the disk
full while it persists users, a certificate replaced by a half-written file, and the files it
writes (users, secrets, the generated REST secret) never readable by others or left behind."""
import os
import random
import shutil
import signal
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

import stun_client as sc
from harness import TERN, Tern

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
            self.assertEqual(leftovers(d, ["users"]), [], "temporary files left after SIGKILL")
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


if __name__ == "__main__":
    unittest.main()
