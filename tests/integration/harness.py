"""Starts the real tern binary on loopback with a test config and reads the ports it bound."""
import functools
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

TERN = os.environ.get("TERN_BINARY", "tern")

BASE_CONFIG = """
realm: test.local
workers: 2
state_dir: {state}
admin: {{socket: {state}/admin.sock}}
listen:
{listen}
"""
DEFAULT_LISTEN = [("udp", "127.0.0.1"), ("tcp", "127.0.0.1"), ("tls", "127.0.0.1")]


@functools.lru_cache(maxsize=None)
def sanitized():
    """True when TERN_BINARY is built with AddressSanitizer (linked to its runtime)."""
    import shutil
    path = shutil.which(TERN) or TERN
    with open(path, "rb") as f:
        data = f.read()
    return b"libasan.so" in data or b"__asan_init" in data


class Tern:
    """Context manager: `with Tern(extra_yaml) as t: t.addr('udp')`."""

    def __init__(self, extra="", config=None, listen=None, env=None, nofile=None):
        self.env = env  # extra environment variables for the server
        self.nofile = nofile  # RLIMIT_NOFILE for the server, when set: N or (soft, hard)
        self.tmp = tempfile.TemporaryDirectory(prefix="tern-test-")
        # (transport, address) or (transport, address, port); port 0 = any free one
        listeners = "\n".join('  - {transport: %s, address: "%s", port: %d}'
                              % (l[0], l[1], l[2] if len(l) > 2 else 0)
                              for l in (listen or DEFAULT_LISTEN))
        if "metrics:" not in extra:
            extra += '\nmetrics: {listen: "127.0.0.1:0"}\n'  # never the fixed default port
        text = config if config is not None else \
            BASE_CONFIG.format(state=self.tmp.name, listen=listeners) + extra
        self.config_path = os.path.join(self.tmp.name, "tern.yaml")
        with open(self.config_path, "w") as f:
            f.write(text)
        self.listeners = {}
        self.output = []
        self.proc = None

    def __enter__(self):
        env = dict(os.environ, **self.env) if self.env else None
        limit = None
        if self.nofile:
            import resource
            pair = self.nofile if isinstance(self.nofile, tuple) else (self.nofile, self.nofile)
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, pair)
        self.proc = subprocess.Popen([TERN, "serve", "--config", self.config_path], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=limit)
        ready = threading.Event()

        def reader():
            for line in self.proc.stdout:
                self.output.append(line)
                m = re.match(r"\s+listening (\w+) \[?([0-9a-f.:]+?)\]?:(\d+)$", line.rstrip())
                if m:
                    self.listeners.setdefault(m.group(1), (m.group(2), int(m.group(3))))
                if line.startswith("Stop with"):
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(20) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("tern did not start:\n" + "".join(self.output))
        return self

    @property
    def admin_socket(self):
        return os.path.join(self.tmp.name, "admin.sock")

    def admin(self, *args, stdin=None, timeout=30):
        """Runs `tern ARGS --json` against this server; returns (exit code, JSON or None, stderr)."""
        import json
        p = subprocess.run([TERN, *args, "--socket", self.admin_socket, "--json"], input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        try:
            body = json.loads(p.stdout) if p.stdout.strip() else None
        except ValueError:
            body = None
        return p.returncode, body, p.stderr

    def addr(self, transport):
        return self.listeners[transport]

    def metric(self, name, labels=""):
        """The sum of metric `name`'s samples whose labels contain `labels` (e.g. 'reason="x"')."""
        import urllib.request
        host, port = self.addr("metrics")
        with urllib.request.urlopen("http://%s:%d/metrics" % (host, port), timeout=5) as r:
            text = r.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                if labels in line:
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # SIGTERM would drain
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def __exit__(self, *exc):
        code = self.stop()
        self.tmp.cleanup()
        if exc[0] is None and code not in (0, None):
            raise AssertionError("tern exited with %s:\n%s" % (code, "".join(self.output)))
        return False


class WithTern:
    """setUpClass/tearDownClass for a test class that shares one tern: started from
    `cls.CONFIG` (and `cls.LISTEN`, when set) into cls.tern."""
    LISTEN = None

    @classmethod
    def setUpClass(cls):
        cls.tern = Tern(cls.CONFIG, listen=cls.LISTEN).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.tern.__exit__(None, None, None)
