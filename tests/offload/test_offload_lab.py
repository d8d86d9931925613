"""relay.offload in a namespace lab: the same channel traffic with the kernel relay off and on (at
a tcx link, a clsact filter and XDP), captured on the client's and the peer's wire, must be the
same frames (checksums valid and otherwise equal byte for byte), count the same in /metrics,
and with offload on keep flowing while tern itself is stopped (SIGSTOP), which only the kernel
can do.

Run as root: python3 test_offload_lab.py (TERN_BINARY = the tern binary). Exit 77 = skipped
(not root, no ethtool), unless TERN_NETLAB_REQUIRED=1."""
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import stun_client as sc  # noqa: E402
import turn_client as tc  # noqa: E402

import lab as netlab  # noqa: E402

TERN = os.environ.get("TERN_BINARY", "tern")
CHANNEL, PEER_PORT, CLIENT_PORT, RELAY_PORT = 0x4001, 7000, 40000, 50000
LIFETIME = 5  # relay.permission_lifetime in the lab, seconds
PEER_SECONDS = LIFETIME + 11
ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4

CONFIG = """
realm: lab.local
workers: 1
state_dir: {state}
listen:
  - {{transport: udp, address: "{listen}", port: 3478}}
relay:
  address: "{relay}"
  min_port: {port}
  max_port: {port}
  permission_lifetime: {lifetime}s
  offload: {offload}
  offload_hook: {hook}
  offload_interfaces: [t0, t1]
auth: {{users: [{{name: alice, password: wonderland}}]}}
peers: {{allow: ["10.77.0.0/16"]}}
metrics: {{listen: "127.0.0.1:9641"}}
signaling: {{listen: ""}}
"""


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def normalized(frame):
    """The frame with its IPv4 and UDP checksums zeroed, once both are seen to be valid, and its
    IPv4 identification zeroed: these datagrams are atomic (DF set, never fragmented), whose
    identification means nothing (RFC 6864 §4); Linux's sockets fill it from a hashed counter
    and the kernel relay writes 0."""
    ip = frame[14:34]
    assert checksum(ip) == 0xFFFF, "bad IPv4 header checksum"
    length = struct.unpack("!H", frame[38:40])[0]
    udp = frame[34:34 + length]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, length)
    assert struct.unpack("!H", udp[6:8])[0] != 0, "UDP sent without a checksum"
    assert checksum(pseudo + udp) == 0xFFFF, "bad UDP checksum"
    assert frame[20] & 0x40, "DF not set"
    return (frame[:18] + b"\0\0" + frame[20:24] + b"\0\0" + frame[26:40] + b"\0\0" +
            frame[42:14 + 20 + length]).hex()


def udp_frames(iface, keep, seconds, out, ready, done=None):
    """Incoming IPv4/UDP frames on `iface` for which keep(src port, dst port) holds, for
    `seconds` or until `done` is set."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    ready.set()
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (done and done.is_set()):
        if not select.select([s], [], [], 0.2)[0]:
            continue
        frame, where = s.recvfrom(65535)
        if where[2] == PACKET_OUTGOING or len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        if frame[23] != 17:
            continue
        sport, dport = struct.unpack("!HH", frame[34:38])
        if keep(sport, dport):
            out.append(frame)
    s.close()


def peer_agent():
    """Echoes every datagram to port 7000 and captures what arrives for it."""
    frames, ready = [], threading.Event()
    t = threading.Thread(target=udp_frames,
                         args=("p0", lambda s, d: d == PEER_PORT, PEER_SECONDS, frames, ready))
    t.start()
    ready.wait()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((netlab.PEER_IP, PEER_PORT))
    end = time.monotonic() + PEER_SECONDS
    while time.monotonic() < end:
        if select.select([u], [], [], 0.2)[0]:
            data, source = u.recvfrom(65535)
            u.sendto(data, source)
    t.join()
    return [f.hex() for f in frames]


def channel_data(payload):
    return struct.pack("!HH", CHANNEL, len(payload)) + payload


def channel_bind(client, ip, port):
    return client.channel_bind(ip, port, CHANNEL)


def echoes(sock, seconds):
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([sock], [], [], 0.05)[0]:
            data = sock.recv(65535)
            if 0x40 <= data[0] <= 0x7F:
                got.append(data[4:4 + struct.unpack("!H", data[2:4])[0]].decode())
    return got


def client_agent():
    """Allocates, binds a channel, and sends on it: right after the bind, in a run, just before
    the permission lapses, after it lapsed, and after a new CreatePermission."""
    frames, ready, done = [], threading.Event(), threading.Event()
    t = threading.Thread(target=udp_frames, args=(
        "c0", lambda s, d: s == 3478 and d == CLIENT_PORT, LIFETIME + 8, frames, ready, done))
    t.start()
    ready.wait()
    c = tc.TurnClient((netlab.TERN_CLIENT_IP, 3478), "alice", "wonderland", realm="lab.local",
                      local=netlab.CLIENT_IP)
    c.sock.close()  # a fixed port, so that both runs show the same 5-tuple on the wire
    c.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.sock.bind((netlab.CLIENT_IP, CLIENT_PORT))
    for _ in range(20):
        mtype, _, _ = c.allocate()
        if mtype == 0x0103:
            break
        time.sleep(0.2)
    assert mtype == 0x0103, "Allocate failed"
    assert channel_bind(c, netlab.PEER_IP, PEER_PORT) == 0x0109, "ChannelBind failed"
    bound = time.monotonic()
    send = lambda text: c.sock.sendto(channel_data(text.encode()), c.server)
    send("first")
    for i in range(10):
        time.sleep(0.03)
        send("m%02d" % i)
    got = echoes(c.sock, bound + LIFETIME - 1.0 - time.monotonic())
    send("before-lapse")
    got += echoes(c.sock, bound + LIFETIME + 1.0 - time.monotonic())
    send("after-lapse")
    got += echoes(c.sock, 0.5)
    mtype, _ = c.create_permission(netlab.PEER_IP)
    assert mtype == 0x0108, "CreatePermission failed"
    send("renewed")
    got += echoes(c.sock, 1.0)
    c.close()
    done.set()
    t.join()
    return got, [f.hex() for f in frames]


def while_stopped(count, what="stopped"):
    """ChannelData from the allocation's 5-tuple (while tern is stopped, or after the peer was
    denied): the echoes that came back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((netlab.CLIENT_IP, CLIENT_PORT))
    for i in range(count):
        s.sendto(channel_data(b"%s-%d" % (what.encode(), i)), (netlab.TERN_CLIENT_IP, 3478))
        time.sleep(0.02)
    got = echoes(s, 1.0)
    s.close()
    return got


def offload_metrics():
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:9641/metrics", timeout=5) as r:
        return [l for l in r.read().decode().splitlines() if l.startswith("tern_offload_")]


def relayed_metrics():
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:9641/metrics", timeout=5) as r:
        text = r.read().decode()
    return sorted(l for l in text.splitlines()
                  if l.startswith("tern_relayed_") or l.startswith("tern_offload_"))


class Run:
    """One pass of the traffic with relay.offload `mode`."""

    def __init__(self, lab, mode, env=None, hook="tc"):
        self.lab, self.mode, self.env, self.hook = lab, mode, env, hook

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tern-offload-")
        self.path = path = os.path.join(self.tmp.name, "tern.yaml")
        with open(path, "w") as f:
            f.write(CONFIG.format(state=self.tmp.name, listen=netlab.TERN_CLIENT_IP,
                                  relay=netlab.TERN_PEER_IP, port=RELAY_PORT, lifetime=LIFETIME,
                                  offload=self.mode, hook=self.hook))
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("t"), TERN, "serve",
                                      "--config", path], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, **(self.env or {})))
        self.output, started = [], False
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("Stop with"):
                started = True
                break
        if not started:
            self.proc.kill()
            raise RuntimeError("tern did not start:\n" + "".join(self.output))
        threading.Thread(target=lambda: [self.output.append(l) for l in self.proc.stdout],
                         daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.tmp.cleanup()

    def traffic(self):
        peer = self.lab.call("p", peer_agent)
        time.sleep(0.3)
        got, client_frames = self.lab.call("c", client_agent).result(LIFETIME + 20)
        time.sleep(1.5)  # the workers read the kernel's counters every second
        metrics = self.lab.call("t", relayed_metrics).result()
        self.proc.send_signal(signal.SIGSTOP)
        try:
            stopped = self.lab.call("c", while_stopped, 5).result()
        finally:
            self.proc.send_signal(signal.SIGCONT)
        # A reload whose peer policy denies the peer: its channel stops at once, either way.
        with open(self.path) as f:
            text = f.read()
        with open(self.path, "w") as f:
            f.write(text.replace('peers: {allow: ["10.77.0.0/16"]}', "peers: {allow: []}"))
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        denied = self.lab.call("c", while_stopped, 3, "denied").result()
        after_reload = self.lab.call("t", offload_metrics).result()
        peer_frames = peer.result(PEER_SECONDS + 10)
        return got, client_frames, peer_frames, metrics, stopped, denied, after_reload


def payload_of(frame_hex, channel):
    frame = bytes.fromhex(frame_hex)
    return frame[42 + (4 if channel else 0):].split(b"\0")[0].decode(errors="replace")


class OffloadLabTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = netlab.Lab().build()
        cls.runs = {}
        for mode in ("off", "required"):
            with Run(cls.lab, mode) as r:
                cls.runs[mode] = r.traffic()
                cls.runs[mode] += ("".join(r.output),)  # [7]
        # The fallback for kernels before tcx (Linux 6.6): a clsact filter, forced here.
        with Run(cls.lab, "required", {"TERN_OFFLOAD_ATTACH": "clsact"}) as r:
            filters = cls.lab.exec("t", "tc", "filter", "show", "dev", "t0", "ingress").stdout
            cls.clsact = r.traffic() + ("".join(r.output), filters)  # [7], [8]
        cls.clsact_after = cls.lab.exec("t", "tc", "filter", "show", "dev", "t0", "ingress").stdout
        # At XDP (relay.offload_hook: xdp): veth runs it natively; the far ends take redirected
        # frames with GRO on.
        cls.lab.gro(True)
        with Run(cls.lab, "required", hook="xdp") as r:
            link = cls.lab.exec("t", "ip", "-d", "link", "show", "dev", "t0").stdout
            cls.xdp = r.traffic() + ("".join(r.output), link)  # [7], [8]
        cls.xdp_after = cls.lab.exec("t", "ip", "-d", "link", "show", "dev", "t0").stdout
        cls.lab.gro(False)

    @classmethod
    def tearDownClass(cls):
        cls.lab.destroy()

    def test_both_runs_relay_what_the_channel_allows(self):
        expected = ["first"] + ["m%02d" % i for i in range(10)] + ["before-lapse", "renewed"]
        for mode, (got, _, peer_frames, *_, output) in self.runs.items():
            self.assertEqual(got, expected, mode + ":\n" + output)
            sent = [payload_of(f, False) for f in peer_frames]
            sent = [p for p in sent if not p.startswith("stopped") and not p.startswith("denied")]
            self.assertEqual(sent, expected, mode)

    def assert_same_wire(self, on, off):
        def keep(frames, channel):  # ChannelData to the client (no STUN), datagrams to the peer
            return [normalized(bytes.fromhex(f)) for f in frames
                    if not payload_of(f, channel).startswith("stopped") and
                    (not channel or 0x40 <= bytes.fromhex(f)[42] <= 0x7F)]
        self.assertEqual(keep(on[1], True), keep(off[1], True), "to the client")
        self.assertEqual(keep(on[2], False), keep(off[2], False), "to the peer")
        self.assertGreater(len(keep(on[1], True)), 10)

    def test_the_wire_is_the_same_with_offload_on_and_off(self):
        self.assert_same_wire(self.runs["required"], self.runs["off"])

    def assert_relays_as_the_kernel(self, on, off):
        """A run with offload on: the wire and the counters of the run without, channel data
        relayed while tern was stopped, and none after the reload that denied the peer."""
        self.assert_same_wire(on, off)
        relayed = lambda m: [l for l in m if l.startswith("tern_relayed_")]
        self.assertEqual(relayed(on[3]), relayed(off[3]))
        self.assertEqual(on[4], ["stopped-%d" % i for i in range(5)])
        self.assertEqual(on[5], [])

    def test_the_clsact_fallback_relays_the_same_and_leaves_nothing_behind(self):
        on, off = self.clsact, self.runs["off"]
        self.assertIn("relay offload: tc on t0 (clsact), t1 (clsact)", on[7])
        self.assertIn("tern_relay", on[8])  # the filter, while tern runs
        self.assert_relays_as_the_kernel(on, off)
        self.assertNotIn("tern_relay", self.clsact_after)  # detached when tern stopped

    def test_xdp_relays_the_same_and_leaves_nothing_behind(self):
        on, off = self.xdp, self.runs["off"]
        self.assertIn("relay offload: on t0 (xdp), t1 (xdp)", on[7])
        self.assertIn("prog/xdp", on[8])  # attached in driver mode while tern runs
        self.assert_relays_as_the_kernel(on, off)
        self.assertIn("tern_offload_bindings 0", on[6])
        self.assertNotIn("prog/xdp", self.xdp_after)  # the link went with tern

    def test_counters_are_the_same_with_offload_on_and_off(self):
        relayed = lambda m: [l for l in m if l.startswith("tern_relayed_")]
        off, on = self.runs["off"][3], self.runs["required"][3]
        self.assertTrue(relayed(off))
        self.assertEqual(relayed(on), relayed(off))
        self.assertIn("tern_offload_bindings 1", on)

    def test_only_the_kernel_relays_while_tern_is_stopped(self):
        self.assertEqual(self.runs["off"][4], [])
        self.assertEqual(self.runs["required"][4], ["stopped-%d" % i for i in range(5)])
        self.assertIn("relay offload: tc on t0, t1", self.runs["required"][7])

    def test_a_reload_that_denies_the_peer_stops_its_channel_at_once(self):
        for mode in ("off", "required"):
            self.assertEqual(self.runs[mode][5], [], mode)
        self.assertIn("tern_offload_bindings 0", self.runs["required"][6])


if __name__ == "__main__":
    reason = netlab.why_not()
    if reason:
        print("skipped:", reason)
        sys.exit(1 if os.environ.get("TERN_NETLAB_REQUIRED") == "1" else 77)
    unittest.main()
