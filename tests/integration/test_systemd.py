"""tern under systemd: the sd_notify protocol (READY, RELOADING/READY, STOPPING, WATCHDOG) seen
on a NOTIFY_SOCKET the test owns, and the unit file in deploy/systemd checked by systemd."""
import ctypes
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

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

    def drain(self):
        """Reads and keeps every message already queued."""
        self.sock.setblocking(False)
        try:
            while True:
                self.seen.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)

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


class StoppedThread:
    """One thread of another process held stopped with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT):
    the rest of the process runs on, exactly like a worker stuck in a loop."""
    SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000

    def __init__(self, tid):
        self.tid = tid
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        if self.libc.ptrace(self.SEIZE, tid, None, None) != 0:
            raise OSError(ctypes.get_errno(), "PTRACE_SEIZE %d" % tid)
        self.libc.ptrace(self.INTERRUPT, tid, None, None)
        status = ctypes.c_int()
        self.libc.waitpid(tid, ctypes.byref(status), self.WALL)  # until it is stopped

    def release(self):
        self.libc.ptrace(self.DETACH, self.tid, None, None)


def worker_thread(pid, name="tern-worker-0"):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    return None


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class StuckWorkerTest(unittest.TestCase):
    def test_a_stuck_worker_stops_the_watchdog_and_fails_healthz(self):
        n = NotifySocket()
        self.addCleanup(n.close)
        with Tern("workers: 2\n", env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "400000"}) as t:
            self.assertIsNotNone(n.next("READY=1"))
            self.assertIsNotNone(n.next("WATCHDOG=1", timeout=2.0), "seen %r" % n.seen)
            port = t.addr("metrics")[1]
            self.assertEqual(healthz(port), 200)
            tid = worker_thread(t.proc.pid)
            self.assertIsNotNone(tid, "no thread named tern-worker-0")
            try:
                stuck = StoppedThread(tid)
            except OSError as e:
                if e.errno == errno.EPERM:
                    self.skipTest("ptrace not permitted here")
                raise
            try:
                # Pets already on their way may still arrive; then none (max age 0.2 s + 1 s).
                time.sleep(1.5)
                n.drain()
                n.seen.clear()
                self.assertIsNone(n.next("WATCHDOG=1", timeout=2.0),
                                  "watchdog petted with a worker stopped; seen %r" % n.seen)
                # The other worker still serves: a Binding request on the same listener port
                # may land on either worker (SO_REUSEPORT), so only the HTTP side is asserted.
                deadline = time.time() + 15
                while time.time() < deadline and healthz(port) == 200:
                    time.sleep(0.5)
                self.assertEqual(healthz(port), 503, "/healthz with a worker stopped for 10 s")
            finally:
                stuck.release()
            self.assertIsNotNone(n.next("WATCHDOG=1", timeout=3.0),
                                 "no WATCHDOG=1 after the worker went on; seen %r" % n.seen)
            self.assertEqual(healthz(port), 200)


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
                  "AmbientCapabilities": "CAP_NET_BIND_SERVICE CAP_BPF",
                  "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
                  "StateDirectory": "tern", "RuntimeDirectory": "tern"}
        for key, value in expect.items():
            self.assertIn(value, keys.get(key, []), key)
        self.assertIn("@system-service", keys.get("SystemCallFilter", []))
        # bpf(2) is in @privileged, which the unit denies; UDP steering needs it back, last.
        self.assertEqual(keys["SystemCallFilter"][-1], "bpf")
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

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_the_offload_drop_in_adds_net_admin_and_keeps_the_rest(self):
        with open(os.path.join(REPO, "deploy", "systemd", "offload.conf")) as f:
            drop_in = f.read()
        with open(UNIT) as f:
            unit_caps = re.search(r"^AmbientCapabilities=(.*)$", f.read(), re.M).group(1).split()
        for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
            caps = re.search(r"^%s=(.*)$" % key, drop_in, re.M).group(1).split()
            self.assertEqual(sorted(caps), sorted(unit_caps + ["CAP_NET_ADMIN"]), key)
        with tempfile.TemporaryDirectory() as d:
            path = self.unit_with_binary(d)
            with open(path, "a") as f:  # what systemd makes of the unit with the drop-in
                f.write(drop_in.split("[Service]", 1)[1])
            p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
