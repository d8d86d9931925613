"""tern under systemd: the sd_notify protocol (READY, RELOADING/READY, STOPPING, WATCHDOG) seen
on a NOTIFY_SOCKET the test owns, and the unit file in deploy/systemd checked by systemd."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import stun_client as sc
from harness import TERN, Tern

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(REPO, "deploy", "systemd", "tern.service")


class NotifySocket:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tern-notify-")
        self.path = os.path.join(self.dir.name, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.seen = []  # every message received so far

    def next(self, want, timeout=10.0):
        """The first message containing `want` within `timeout` s, or None; earlier ones are kept."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                return None
            self.seen.append(msg)
            if want in msg.split("\n"):
                return msg
        return None

    def close(self):
        self.sock.close()
        self.dir.cleanup()


class SdNotifyTest(unittest.TestCase):
    def start(self, **env):
        n = NotifySocket()
        self.addCleanup(n.close)
        t = Tern('auth: {users: [{name: alice, password: wonderland}]}\n',
                 env={"NOTIFY_SOCKET": n.path, **env}).__enter__()
        self.addCleanup(t.__exit__, None, None, None)
        return n, t

    def test_ready_reload_and_stopping(self):
        n, t = self.start()
        ready = n.next("READY=1")
        self.assertIsNotNone(ready, "no READY=1; seen %r" % n.seen)
        # READY means served: a Binding request is answered.
        self.assertIsNotNone(sc.udp_exchange(t.addr("udp"), sc.binding_request()[0]))
        t.proc.send_signal(signal.SIGHUP)
        reloading = n.next("RELOADING=1")
        self.assertIsNotNone(reloading, "no RELOADING=1 on SIGHUP; seen %r" % n.seen)
        self.assertRegex(reloading, r"MONOTONIC_USEC=\d+")
        self.assertIsNotNone(n.next("READY=1"), "no READY=1 after the reload; seen %r" % n.seen)
        t.proc.send_signal(signal.SIGTERM)  # drain
        self.assertIsNotNone(n.next("STOPPING=1"), "no STOPPING=1 on SIGTERM; seen %r" % n.seen)

    def test_watchdog_is_petted_while_workers_answer(self):
        n, _ = self.start(WATCHDOG_USEC="400000")
        self.assertIsNotNone(n.next("READY=1"))
        start = time.time()
        pets = 0
        while time.time() - start < 1.5:
            if n.next("WATCHDOG=1", timeout=0.5) is not None:
                pets += 1
        self.assertGreaterEqual(pets, 4, "WATCHDOG=1 every 200 ms expected; seen %r" % n.seen)

    def test_watchdog_for_another_pid_is_not_ours(self):
        n, _ = self.start(WATCHDOG_USEC="200000", WATCHDOG_PID="1")
        self.assertIsNotNone(n.next("READY=1"))
        self.assertIsNone(n.next("WATCHDOG=1", timeout=1.0))


class UnitFileTest(unittest.TestCase):
    def test_unit_has_notify_reload_drain_and_hardening(self):
        with open(UNIT) as f:
            text = f.read()
        keys = {}
        for line in text.splitlines():
            m = re.match(r"^(\w+)=(.*)$", line)
            if m:
                keys.setdefault(m.group(1), []).append(m.group(2))
        expect = {"Type": "notify", "KillSignal": "SIGTERM", "NoNewPrivileges": "yes",
                  "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                  "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
                  "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
                  "StateDirectory": "tern", "RuntimeDirectory": "tern"}
        for key, value in expect.items():
            self.assertIn(value, keys.get(key, []), key)
        self.assertIn("@system-service", keys.get("SystemCallFilter", []))
        self.assertIn("-HUP", keys["ExecReload"][0])
        for key in ("WatchdogSec", "TimeoutStopSec", "LimitNOFILE"):
            self.assertIn(key, keys)
        self.assertTrue("DynamicUser" in keys or "User" in keys)

    def unit_with_binary(self, d):
        path = os.path.join(d, "tern.service")
        with open(UNIT) as f:
            text = f.read().replace("/usr/bin/tern", os.path.abspath(TERN))
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_bad_config_fails_in_exec_start_pre(self):
        with open(UNIT) as f:
            text = f.read()
        self.assertIn("ExecStartPre=/usr/bin/tern check-config /etc/tern/tern.yaml", text)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_security_scores_ok(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                                self.unit_with_binary(d)], capture_output=True, text=True,
                               timeout=60)
            m = re.search(r"Overall exposure level for tern.service: ([\d.]+) (\w+)", p.stdout)
            self.assertIsNotNone(m, p.stdout[-2000:] + p.stderr)
            print("systemd-analyze security: %s %s" % (m.group(1), m.group(2)))
            self.assertLessEqual(float(m.group(1)), 2.0, p.stdout[-3000:])

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_verify_accepts_the_unit(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["systemd-analyze", "verify", self.unit_with_binary(d)],
                               capture_output=True, text=True, timeout=60)
            problems = [l for l in (p.stdout + p.stderr).splitlines() if "tern.service" in l]
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(problems, [], p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
