"""Abuse against the real binary, with figures: what each kind of unauthenticated reply costs a
reflector (bytes out per byte in), what a 401 carries, and credential stuffing (many wrong
passwords for one user from one address): answered within the unauthenticated budget,
counted, never logged per attempt, and no obstacle to the right password."""
import os
import re
import socket
import threading
import time
import unittest

import stun_client as sc
import turn_client as tc
from harness import Tern, sanitized

USERS = "auth: {users: [{name: alice, password: wonderland}]}\n"
ERROR_CODE, REALM, NONCE, PASSWORD_ALGORITHMS, UNKNOWN_ATTRIBUTES = 0x0009, 0x0014, 0x0015, 0x8002, 0x000A
XOR_MAPPED_ADDRESS, FINGERPRINT, SOFTWARE = 0x0020, 0x8028, 0x8022
UDP_IP_HEADERS = 28  # IPv4 + UDP: what each datagram costs on the wire besides its payload

# The worst byte amplification tern may offer an unauthenticated (spoofable) sender for the
# smallest request that draws each reply: payload to payload, and on the wire (IPv4 + UDP).
# A 401 must carry REALM and a NONCE (RFC 8489 §9.2.4), so a 20-byte Refresh draws 124 bytes;
# what bounds reflection is the per-source reply budget (limits.unauthenticated_*).
MAX_AMPLIFICATION = 6.5
MAX_WIRE_AMPLIFICATION = 3.5


class AmplificationTest(unittest.TestCase):
    """The smallest request that draws each unauthenticated reply, and the reply's size."""

    KINDS = [
        # (name, request, expected reply: None = success, else the error code)
        ("Binding", sc.message(0x0001)[0], None),
        ("Allocate without credentials", sc.message(0x0003, sc.attr(0x0019, b"\x11\0\0\0"))[0], 401),
        ("Refresh without credentials", sc.message(0x0004)[0], 401),
        ("Binding with an unknown comprehension-required attribute",
         sc.message(0x0001, sc.attr(0x7F01, b""))[0], 420),
    ]

    def test_each_unauthenticated_reply_kind(self):
        rows = []
        with Tern(USERS) as t:
            for name, request, expected in self.KINDS:
                reply = sc.udp_exchange(t.addr("udp"), request)
                self.assertIsNotNone(reply, name)
                mtype, _, attrs, _ = sc.parse(reply)
                self.assertEqual(tc.error_code(attrs), expected, "%s: %r" % (name, attrs))
                types = {a for a, _ in attrs}
                if expected == 401:
                    # RFC 8489 §9.2.4: ERROR-CODE, REALM and NONCE (and PASSWORD-ALGORITHMS,
                    # §9.2.4 with the nonce cookie); nothing about users, allocations or tern.
                    self.assertLessEqual(types, {ERROR_CODE, REALM, NONCE, PASSWORD_ALGORITHMS, FINGERPRINT},
                                         "%s: 401 carries %r" % (name, sorted(types)))
                elif expected == 420:
                    self.assertLessEqual(types, {ERROR_CODE, UNKNOWN_ATTRIBUTES, FINGERPRINT}, name)
                else:
                    self.assertLessEqual(types, {XOR_MAPPED_ADDRESS, FINGERPRINT}, name)
                ratio = len(reply) / len(request)
                wire = (len(reply) + UDP_IP_HEADERS) / (len(request) + UDP_IP_HEADERS)
                rows.append((name, expected or "success", len(request), len(reply), ratio, wire))
                self.assertLessEqual(ratio, MAX_AMPLIFICATION, "%s: %d B for %d B" % (name, len(reply), len(request)))
                self.assertLessEqual(wire, MAX_WIRE_AMPLIFICATION, name)
        for name, code, req, rep, ratio, wire in rows:
            print("# amplification | %s | %s | %d B | %d B | %.2fx | %.2fx on the wire" %
                  (name, code, req, rep, ratio, wire))


class CredentialStuffingTest(unittest.TestCase):
    """Many wrong passwords for one user from one address."""

    def test_wrong_passwords_are_budgeted_counted_not_logged_and_do_not_block_the_right_one(self):
        attempts = 300
        config = USERS + ("limits: {unauthenticated_replies_per_second: 20, "
                          "unauthenticated_reply_burst: 40}\n")
        with Tern(config) as t:
            # The right password, learned before the attack, from the same address.
            good = tc.TurnClient(t.addr("udp"), "alice", "wonderland", local="127.0.0.7")
            self.addCleanup(good.close)
            bad = tc.TurnClient(t.addr("udp"), "alice", "hunter2-wrong", local="127.0.0.7")
            self.addCleanup(bad.close)
            self.assertEqual(good.request(tc.REFRESH)[0], 0x0114)  # 437: the nonce is learned
            self.assertEqual(tc.error_code(bad.allocate()[2]), 401)
            failures_before = t.metric("tern_auth_failures_total", 'reason="bad_integrity"')
            bad.sock.settimeout(0.2)
            started = time.time()
            for i in range(attempts):
                tid = bytes([i % 256]) * 12
                bad.sock.sendto(bad.signed(tc.ALLOCATE, sc.attr(0x0019, b"\x11\0\0\0"), tid), t.addr("udp"))
            replies = 0
            try:
                while True:
                    mtype, _, attrs, _ = sc.parse(bad.sock.recv(2000))
                    self.assertEqual(tc.error_code(attrs), 401)
                    replies += 1
            except socket.timeout:
                pass
            elapsed = time.time() - started
            failures = t.metric("tern_auth_failures_total", 'reason="bad_integrity"') - failures_before
            print("# credential stuffing: %d wrong passwords in %.2f s from one address: %d answered, "
                  "%d counted in tern_auth_failures_total{reason=\"bad_integrity\"}" %
                  (attempts, elapsed, replies, failures))
            # Every attempt is counted; answers stay within the source's unauthenticated budget.
            self.assertEqual(failures, attempts)
            self.assertLessEqual(replies, 40 + 20 * (elapsed + 1))
            self.assertGreater(replies, 0)
            # The right password still works at once from the same address.
            mtype, _, attrs = good.allocate()
            self.assertEqual(mtype, 0x0103, attrs)
            # Nothing about the attempts in the log: neither a line per attempt nor the password.
            time.sleep(0.2)
            log = "".join(t.output)
            self.assertNotIn("hunter2", log)
            self.assertLess(len(re.findall(r"alice", log)), 5, log[-2000:])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def closed_within(sock, seconds, trickle=None, every=0.25):
    """Seconds until the server closes `sock` (None if it stays open for `seconds`), sending
    one byte of `trickle` every `every` seconds meanwhile."""
    start = time.time()
    sock.settimeout(every)
    for i in range(int(seconds / every)):
        if trickle is not None and i < len(trickle):
            try:
                sock.sendall(trickle[i:i + 1])
            except OSError:
                return time.time() - start
        try:
            if sock.recv(4096) == b"":
                return time.time() - start
        except socket.timeout:
            continue
        except OSError:
            return time.time() - start
    return None


def connection_flood(t, addr, count=300):
    """Opens up to `count` TCP connections to `addr` (until connect fails); returns them and
    the CPU seconds tern spent in the 2 s after."""
    flood = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect(addr)
        except OSError:
            s.close()
            break
        flood.append(s)
    time.sleep(0.5)
    busy = cpu_seconds(t.proc.pid)
    time.sleep(2)
    return flood, cpu_seconds(t.proc.pid) - busy


# Out of descriptors, the sanitizers' own checks fail (UBSan's vptr check probes memory through
# a pipe) and stop tern with errors that are not tern's: these tests run on the release build.
NOT_UNDER_SANITIZERS = unittest.skipIf(sanitized(), "the sanitizer runtime itself needs file descriptors")


@NOT_UNDER_SANITIZERS
class FdExhaustionTest(unittest.TestCase):
    """tern with 128 file descriptors and a TCP connection flood: new connections are shed
    (accepted and closed) without a busy loop, a live call keeps relaying, and TCP works again
    once the flood ends."""

    def test_connection_flood_over_the_fd_limit(self):
        config = ("relay: {address: 127.0.0.1, min_port: 46440, max_port: 46449}\n"
                  "auth: {users: [{name: alice, password: wonderland}]}\npeers: {allow: [127.0.0.2/32]}\n")
        with Tern(config, nofile=128) as t:
            call = tc.TurnClient(t.addr("udp"), "alice", "wonderland")
            self.addCleanup(call.close)
            self.assertEqual(call.allocate()[0], 0x0103)
            self.assertEqual(call.create_permission("127.0.0.2")[0], 0x0108)
            peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(peer.close)
            peer.bind(("127.0.0.2", 0))
            peer.settimeout(2)

            def relays(text):
                call.send_indication("127.0.0.2", peer.getsockname()[1], text)
                return peer.recvfrom(100)[0] == text

            self.assertTrue(relays(b"before"))
            flood, busy = connection_flood(t, t.addr("tcp"))
            shed = 0
            for s in flood:
                s.settimeout(0.05)
                try:
                    if s.recv(1) == b"":
                        shed += 1
                except ConnectionResetError:
                    shed += 1
                except OSError:
                    pass
            print("# fd flood: %d TCP connections against RLIMIT_NOFILE 128: %d shed (closed at once), "
                  "%.2f s of tern CPU in 2 s" % (len(flood), shed, busy))
            self.assertLess(busy, 0.5, "tern spins when it runs out of file descriptors")
            self.assertGreater(shed, 0, "connections over the fd limit are left hanging")
            self.assertTrue(relays(b"during"), "the live call stopped relaying")
            for s in flood:
                s.close()
            time.sleep(1)
            # Counted by tern (read once descriptors are free again: /metrics needs one too).
            self.assertGreaterEqual(t.metric("tern_connections_refused_total", 'reason="descriptors"'), shed)
            reply = None
            with socket.create_connection(t.addr("tcp"), timeout=2) as s:
                req, tid = sc.binding_request()
                s.sendall(req)
                reply = sc.parse(sc.recv_frame(s))
            self.assertEqual(reply[1], tid, "TCP does not work again after the flood")
            self.assertTrue(relays(b"after"))


class SlowTlsHandshakeTest(unittest.TestCase):
    """Half-open and trickled TLS handshakes are closed at connections.handshake_timeout; a
    finished handshake is then held only by the idle timeout."""

    def test_handshakes_that_do_not_finish_are_closed(self):
        with Tern(USERS + "connections: {handshake_timeout: 1s, idle_timeout: 30s}\n") as t:
            done = sc.tls_connect(t.addr("tls"))
            self.addCleanup(done.close)
            silent = socket.create_connection(t.addr("tls"), timeout=2)
            self.addCleanup(silent.close)
            after_silent = closed_within(silent, 4)
            # A ClientHello's first bytes, one every 0.25 s: never a complete record.
            trickled = socket.create_connection(t.addr("tls"), timeout=2)
            self.addCleanup(trickled.close)
            hello = bytes.fromhex("16030100c8010000c40303") + bytes(32)
            after_trickle = closed_within(trickled, 4, trickle=hello)
            print("# TLS handshake timeout 1 s: silent client closed after %s s, trickling client after %s s"
                  % (after_silent and round(after_silent, 1), after_trickle and round(after_trickle, 1)))
            self.assertIsNotNone(after_silent, "a client that never sends its ClientHello stays connected")
            self.assertIsNotNone(after_trickle, "a client that trickles its ClientHello stays connected")
            req, tid = sc.binding_request()
            done.sendall(req)
            self.assertEqual(sc.parse(sc.recv_frame(done))[1], tid, "a finished handshake was cut too")



def allocate_code(client):
    """200 for a successful Allocate, the error code otherwise (None: no answer)."""
    mtype, _, attrs = client.allocate()
    if mtype is None:
        return None
    return 200 if mtype == 0x0103 else tc.error_code(attrs)


def http_status(t, path):
    import urllib.error
    import urllib.request
    host, port = t.addr("metrics")
    try:
        with urllib.request.urlopen("http://%s:%d%s" % (host, port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))




class AllocationFloodTest(unittest.TestCase):
    """Floods of Allocate with valid credentials: each quota holds with 486, the relay port
    range runs out with 508 and a not-ready /readyz and comes back when allocations end, and
    memory per allocation stays bounded."""

    def flood(self, t, users_and_sources):
        clients, codes = [], []
        for user, source in users_and_sources:
            c = tc.TurnClient(t.addr("udp"), user, "pw", local=source)
            self.addCleanup(c.close)
            code = allocate_code(c)
            codes.append(code)
            if code == 200:
                clients.append(c)
        return clients, codes

    def release(self, clients):
        for c in clients:
            mtype, _, attrs = c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
            self.assertEqual(mtype, 0x0104, attrs)

    def test_per_user_per_source_and_total_quotas_hold(self):
        users = "auth: {users: [%s]}\n" % ", ".join("{name: u%d, password: pw}" % i for i in range(30))
        config = users + ("relay: {address: 127.0.0.1, min_port: 47100, max_port: 47163}\n"
                          "limits: {allocations_per_user: 4, allocations_per_source_ip: 6, "
                          "allocations_total: 10}\n")
        with Tern(config) as t:
            # One user from eight addresses: four allocate, the rest are over the user's quota.
            _, per_user = self.flood(t, [("u0", "127.0.1.%d" % i) for i in range(1, 9)])
            # Ten users from one address: six allocate, the rest are over that address's quota.
            _, per_ip = self.flood(t, [("u%d" % i, "127.0.2.1") for i in range(1, 11)])
            # The total (10) is reached: fresh users from fresh addresses get 486 too.
            _, total = self.flood(t, [("u%d" % i, "127.0.3.%d" % i) for i in range(11, 16)])
            print("\n# quotas under a flood: per user %s, per source IP %s, over the total %s"
                  % (per_user, per_ip, total))
            self.assertEqual(per_user, [200] * 4 + [486] * 4)
            self.assertEqual(per_ip, [200] * 6 + [486] * 4)
            self.assertEqual(total, [486] * 5)
            self.assertEqual(t.metric("tern_allocations_active"), 10)
            self.assertEqual(t.metric("tern_allocation_attempts_total", 'result="quota_reached"'), 13)

    def test_relay_ports_run_out_cleanly_and_come_back(self):
        config = "auth: {users: [{name: u0, password: pw}]}\n" \
                 "relay: {address: 127.0.0.1, min_port: 47000, max_port: 47015}\n"
        with Tern(config) as t:
            self.assertEqual(http_status(t, "/readyz")[0], 200)
            held, codes = self.flood(t, [("u0", "127.0.4.%d" % (i + 1)) for i in range(20)])
            self.assertEqual(codes, [200] * 16 + [508] * 4, "16 relay ports, 20 allocations")
            status, body = http_status(t, "/readyz")
            self.assertEqual((status, body.strip()), (503, "not ready: no IPv4 relay ports left"))
            self.assertEqual(t.metric("tern_relay_ports_available", 'family="ipv4"'), 0)
            self.assertEqual(t.metric("tern_allocation_attempts_total", 'result="insufficient_capacity"'), 4)
            binding = sc.udp_exchange(t.addr("udp"), sc.message(0x0001)[0])
            self.assertIsNotNone(binding, "Binding must still be answered with no relay port left")

            self.release(held)
            self.assertEqual(http_status(t, "/readyz")[0], 200)
            self.assertEqual(t.metric("tern_relay_ports_available", 'family="ipv4"'), 16)
            again, codes = self.flood(t, [("u0", "127.0.5.1")])
            self.assertEqual(codes, [200], "allocations after the range came back")
            print("\n# 16 relay ports, 20 allocations: 16 allocated, 4 got 508, /readyz 503; "
                  "all released: /readyz 200, 16 ports available, allocating again works")

    def test_memory_per_allocation_stays_bounded(self):
        import resource
        count, bound = 800, 8192  # bytes of RSS per allocation tern may use
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < count + 200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 400), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        config = "auth: {users: [{name: u0, password: pw}]}\n" \
                 "relay: {address: 127.0.0.1, min_port: 48000, max_port: 48999}\n"
        with Tern(config) as t:
            self.flood(t, [("u0", "127.0.6.1")])  # warm up: first allocation, pools
            before = rss_kib(t.proc.pid)
            held, codes = self.flood(t, [("u0", "127.0.6.%d" % (2 + i % 200)) for i in range(count)])
            self.assertEqual(codes.count(200), count, "allocations refused: %r" % set(codes))
            per = (rss_kib(t.proc.pid) - before) * 1024 / count
            print("\n# %d allocations: %.0f bytes of RSS each (bound %d)" % (count, per, bound))
            if not sanitized():
                self.assertLessEqual(per, bound)
            self.release(held)
            self.assertEqual(t.metric("tern_allocations_active"), 1)


def binding_over(sock):
    """True when a Binding request over the stream `sock` is answered."""
    req, tid = sc.binding_request()
    try:
        sock.sendall(req)
        frame = sc.recv_frame(sock)
    except OSError:
        return False
    return frame is not None and sc.parse(frame)[1] == tid


class PerSourceConnectionLimitTest(unittest.TestCase):
    """connections.per_source_ip: one address cannot hold more TCP and TLS connections than
    that, whatever the process-wide room; other addresses are unaffected."""

    def test_one_address_is_held_to_its_limit(self):
        with Tern(USERS + "connections: {per_source_ip: 5}\n") as t:
            held = []
            for i in range(4):
                s = socket.create_connection(t.addr("tcp"), timeout=2)
                self.addCleanup(s.close)
                # Each worker accepts from its own listening socket, so connections are taken in
                # no fixed order: an answered Binding shows this one holds its slot before the next.
                self.assertTrue(binding_over(s), "a connection within the limit was not served")
                held.append(s)
            tls = sc.tls_connect(t.addr("tls"))  # TCP and TLS share one count: the fifth
            self.addCleanup(tls.close)
            refused = []
            for i in range(6):
                s = socket.create_connection(t.addr("tcp"), timeout=2)
                self.addCleanup(s.close)
                refused.append(closed_within(s, 2))
            other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(other.close)
            other.bind(("127.0.0.2", 0))
            other.settimeout(2)
            other.connect(t.addr("tcp"))
            print("\n# per_source_ip 5: 5 held (4 TCP, 1 TLS), 6 more from the same address closed after %s s, "
                  "another address served" % [r and round(r, 2) for r in refused])
            self.assertTrue(all(r is not None for r in refused), "a connection over the per-source limit stayed open")
            self.assertTrue(all(binding_over(s) for s in held), "a connection within the limit was cut")
            self.assertTrue(binding_over(tls))
            self.assertTrue(binding_over(other), "another address was refused")
            self.assertEqual(t.metric("tern_connections_refused_total", 'reason="per_source"'), 6)
            held[0].close()
            time.sleep(0.3)
            again = socket.create_connection(t.addr("tcp"), timeout=2)
            self.addCleanup(again.close)
            self.assertTrue(binding_over(again), "a slot freed by a closed connection was not given back")


class SlowlorisTcpTest(unittest.TestCase):
    """Plain TCP has no handshake: a client that trickles bytes without ever completing a STUN
    frame is closed at connections.idle_timeout, counted from its last whole frame; a client
    that sends whole frames stays."""

    def test_trickled_partial_frames_do_not_hold_a_connection(self):
        with Tern(USERS + "connections: {idle_timeout: 2s}\n") as t:
            # A Binding header that promises a 400-byte body, then one byte every 0.2 s.
            trickle = sc.message(0x0001)[0][:2] + (400).to_bytes(2, "big") + sc.message(0x0001)[0][4:] + bytes(400)
            slow = socket.create_connection(t.addr("tcp"), timeout=2)
            self.addCleanup(slow.close)
            busy = socket.create_connection(t.addr("tcp"), timeout=2)
            self.addCleanup(busy.close)
            start = time.time()
            answered = []

            def whole_frames():  # meanwhile, a Binding every 0.4 s keeps the other one open
                while time.time() - start < 4:
                    answered.append(binding_over(busy))
                    if not answered[-1]:
                        return
                    time.sleep(0.4)

            busy_thread = threading.Thread(target=whole_frames)
            busy_thread.start()
            after = closed_within(slow, 5, trickle=trickle, every=0.2)
            busy_thread.join(10)
            sent_frames = len(answered)
            self.assertTrue(answered and all(answered), "a client sending whole frames was closed")
            print("\n# slowloris over TCP, idle_timeout 2 s: a byte every 0.2 s closed after %s s; "
                  "%d whole frames in 4 s kept the other connection" % (after and round(after, 1), sent_frames))
            self.assertIsNotNone(after, "a client trickling a partial frame stays connected")
            self.assertLess(after, 3.5)



class UnauthenticatedFloodTest(unittest.TestCase):
    """Unauthenticated Allocates from 64 addresses, each well past its reply budget, on the
    defaults (burst 512, 20/s per source): each source draws at most its budget, tern's CPU is
    the figure, and clients that authenticate keep allocating during the flood."""

    SOURCES, SECONDS, RATE = 64, 3.0, 16000  # flood requests per second, all sources together

    def test_flood_from_many_addresses(self):
        config = USERS + "relay: {address: 127.0.0.1, min_port: 47200, max_port: 47299}\n"
        with Tern(config) as t:
            server = t.addr("udp")
            flooders = []
            for i in range(self.SOURCES):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.bind(("127.0.8.%d" % (i + 1), 0))
                s.setblocking(False)
                self.addCleanup(s.close)
                flooders.append(s)
            attempts, successes, stop = [0], [0], threading.Event()

            def legitimate():
                n = 0
                while not stop.is_set():
                    n += 1
                    c = tc.TurnClient(server, "alice", "wonderland", local="127.0.9.%d" % (1 + n % 50))
                    attempts[0] += 1
                    if c.allocate()[0] == 0x0103:
                        successes[0] += 1
                        c.request(tc.REFRESH, sc.attr(0x000D, b"\0\0\0\0"))
                    c.close()
                    time.sleep(0.02)

            worker = threading.Thread(target=legitimate)
            busy = cpu_seconds(t.proc.pid)
            worker.start()
            sent, start = 0, time.monotonic()
            request = sc.message(0x0003, sc.attr(0x0019, b"\x11\0\0\0"))[0]
            while time.monotonic() - start < self.SECONDS:
                due = int((time.monotonic() - start) * self.RATE)
                while sent < due:
                    try:
                        flooders[sent % self.SOURCES].sendto(request, server)
                    except BlockingIOError:
                        pass
                    sent += 1
                time.sleep(0.002)
            elapsed = time.monotonic() - start
            stop.set()
            worker.join(10)
            busy = cpu_seconds(t.proc.pid) - busy
            time.sleep(0.3)
            replies = []
            for s in flooders:
                n = 0
                try:
                    while True:
                        s.recv(2048)
                        n += 1
                except BlockingIOError:
                    pass
                replies.append(n)
            budget = 512 + 20 * elapsed
            rate = successes[0] / max(1, attempts[0])
            print("\n# unauthenticated flood: %d Allocates from %d addresses in %.1f s (%d per address); "
                  "replies per address max %d (budget %.0f), %d in all; tern CPU %.2f s (%.0f %% of one core); "
                  "legitimate clients allocated %d of %d (%.0f %%) during it"
                  % (sent, self.SOURCES, elapsed, sent // self.SOURCES, max(replies), budget, sum(replies),
                     busy, 100 * busy / elapsed, successes[0], attempts[0], 100 * rate))
            self.assertLessEqual(max(replies), budget + 5, "a source drew more than its reply budget")
            self.assertGreater(attempts[0], 10)
            self.assertGreaterEqual(rate, 0.9, "legitimate clients could not allocate during the flood")


if __name__ == "__main__":
    unittest.main()
