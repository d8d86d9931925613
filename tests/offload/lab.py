"""A three-namespace lab for the kernel relay: client (c) -- tern (t) -- peer (p), joined by veth
pairs with fixed MAC addresses, IPv4 forwarding on in t, and transmit checksumming off so that
every frame carries the checksum a wire would. Functions run inside a namespace in a forked
child (setns), and everything is removed on exit."""
import atexit
import ctypes
import multiprocessing
import os
import subprocess

CLONE_NEWNET = 0x40000000
CLIENT_IP, TERN_CLIENT_IP, TERN_PEER_IP, PEER_IP = "10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2"
LINKS = [  # (ns, interface, address, MAC, peer ns, peer interface, peer address, peer MAC)
    ("c", "c0", CLIENT_IP, "02:00:00:00:01:02", "t", "t0", TERN_CLIENT_IP, "02:00:00:00:01:01"),
    ("t", "t1", TERN_PEER_IP, "02:00:00:00:02:01", "p", "p0", PEER_IP, "02:00:00:00:02:02"),
]


def run(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)


def why_not():
    """None when this process can build the lab, else the reason."""
    if os.geteuid() != 0:
        return "not root: network namespaces need root"
    for tool in ("ip", "ethtool"):
        if run("sh", "-c", "command -v " + tool, check=False).returncode != 0:
            return tool + " not installed (Debian iproute2, ethtool)"
    return None


class Lab:
    def __init__(self):
        self.prefix = "to%d-" % os.getpid()
        self.made = []
        atexit.register(self.destroy)

    def ns(self, name):
        return self.prefix + name

    def exec(self, name, *args, check=True):
        return run("ip", "netns", "exec", self.ns(name), *args, check=check)

    def build(self):
        for name in ("c", "t", "p"):
            run("ip", "netns", "add", self.ns(name))
            self.made.append(self.ns(name))
            self.exec(name, "ip", "link", "set", "lo", "up")
        for a_ns, a_if, a_ip, a_mac, b_ns, b_if, b_ip, b_mac in LINKS:
            temp = lambda name: ("%s-%d" % (name, os.getpid()))[:15]
            run("ip", "link", "add", temp(a_if), "type", "veth", "peer", "name", temp(b_if))
            for ns, name, ip, mac in ((a_ns, a_if, a_ip, a_mac), (b_ns, b_if, b_ip, b_mac)):
                run("ip", "link", "set", temp(name), "netns", self.ns(ns))
                self.exec(ns, "ip", "link", "set", temp(name), "name", name)
                self.exec(ns, "ip", "link", "set", name, "address", mac)
                self.exec(ns, "ip", "addr", "add", ip + "/24", "dev", name)
                self.exec(ns, "ip", "link", "set", name, "up")
                self.exec(ns, "ethtool", "-K", name, "tx", "off")
        self.exec("c", "ip", "route", "add", "default", "via", TERN_CLIENT_IP)
        self.exec("p", "ip", "route", "add", "default", "via", TERN_PEER_IP)
        self.exec("t", "sysctl", "-qw", "net.ipv4.conf.all.forwarding=1")
        return self

    def gro(self, on):
        """GRO on the client's and the peer's interface. A veth takes frames that XDP redirects
        to it only with NAPI, which GRO (or an XDP program of its own) turns on."""
        for ns, name in (("c", "c0"), ("p", "p0")):
            self.exec(ns, "ethtool", "-K", name, "gro", "on" if on else "off")

    def destroy(self):
        for ns in self.made:
            run("ip", "netns", "del", ns, check=False)
        self.made = []

    def call(self, name, fn, *args):
        """fn(*args) in namespace `name`, in a forked child; returns its result."""
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        path = "/var/run/netns/" + self.ns(name)

        def body():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                child.send(("error", "setns: errno %d" % ctypes.get_errno()))
                return
            try:
                child.send(("ok", fn(*args)))
            except Exception as e:  # reported to the parent, which raises it
                child.send(("error", repr(e)))

        p = ctx.Process(target=body)
        p.start()
        return _Pending(p, parent)


class _Pending:
    def __init__(self, process, pipe):
        self.process, self.pipe = process, pipe

    def result(self, timeout=60):
        if not self.pipe.poll(timeout):
            self.process.kill()
            raise RuntimeError("a lab function did not finish in %ds" % timeout)
        status, value = self.pipe.recv()
        self.process.join(5)
        if status != "ok":
            raise RuntimeError(value)
        return value
