"""A small TURN client over UDP for tern's integration tests (long-term credentials, RFC 8656)."""
import base64
import hashlib
import hmac
import os
import socket
import struct

import stun_client as sc

ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND = 0x003, 0x004, 0x008, 0x009
SEND_INDICATION, DATA_INDICATION = 0x0016, 0x0017


def xor_peer(ip, port, tid):
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    raw = socket.inet_pton(family, ip)
    mask = struct.pack("!I", sc.MAGIC) + tid
    x = bytes(b ^ mask[i] for i, b in enumerate(raw))
    return struct.pack("!BBH", 0, 1 if family == socket.AF_INET else 2,
                       port ^ (sc.MAGIC >> 16)) + x


def error_code(attrs):
    v = sc.find(attrs, 0x0009)
    return None if v is None else v[2] * 100 + v[3]


def nonce_features(nonce):
    """The RFC 8489 §9.2 security feature bits of a cookie-prefixed NONCE, else None."""
    if not nonce.startswith(b"obMatJos2") or len(nonce) < 13:
        return None
    raw = base64.b64decode(nonce[9:13])
    return (raw[0] << 16) | (raw[1] << 8) | raw[2]


USERNAME_ANONYMITY = 1 << 1  # bit 1 (Erratum 6290: bit 0 is the least significant)
MD5, SHA256 = 1, 2


class TurnClient:
    """A TURN client over UDP. `rfc8489=False` is a legacy RFC 5389 client (USERNAME, MD5 key,
    MESSAGE-INTEGRITY). `rfc8489=True` follows RFC 8489 §9.2: it picks SHA-256 when the server
    offers it in PASSWORD-ALGORITHMS, signs with MESSAGE-INTEGRITY-SHA256, and sends USERHASH
    instead of USERNAME when the nonce cookie advertises username anonymity."""

    def __init__(self, server, user, password, realm="test.local", local=None, rfc8489=False,
                 stream=None):
        self.server = server
        self.stream = stream  # a connected TCP or TLS socket to use instead of UDP
        if stream is not None:
            self.sock = stream
        else:
            family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((local or ("::1" if family == socket.AF_INET6 else "127.0.0.1"), 0))
        self.user, self.realm, self.password = user, realm, password
        self.rfc8489 = rfc8489
        self.key = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()
        self.nonce = None
        self.algorithms = None  # the PASSWORD-ALGORITHMS value of the last challenge
        self.algorithm = MD5
        self.used_userhash = False

    def learn(self, attrs):
        """Takes REALM, NONCE and PASSWORD-ALGORITHMS from a 401 or 438."""
        self.nonce = sc.find(attrs, 0x0015)
        realm = sc.find(attrs, 0x0014)
        if realm is not None:
            self.realm = realm.decode()
        self.algorithms = sc.find(attrs, 0x8002)
        offered = []
        if self.algorithms:
            for i in range(0, len(self.algorithms), 4):
                number, plen = struct.unpack("!HH", self.algorithms[i:i + 4])
                offered.append(number)
        features = nonce_features(self.nonce) or 0
        self.algorithm = SHA256 if self.rfc8489 and SHA256 in offered else MD5
        creds = f"{self.user}:{self.realm}:{self.password}".encode()
        self.key = (hashlib.sha256 if self.algorithm == SHA256 else hashlib.md5)(creds).digest()
        self.used_userhash = self.rfc8489 and bool(features & USERNAME_ANONYMITY)

    def close(self):
        self.sock.close()

    def signed(self, mtype, attrs, tid):
        if self.used_userhash:
            who = sc.attr(0x001E, hashlib.sha256(f"{self.user}:{self.realm}".encode()).digest())
        else:
            who = sc.attr(0x0006, self.user.encode())
        body = attrs + who + sc.attr(0x0014, self.realm.encode()) + sc.attr(0x0015, self.nonce)
        if self.rfc8489 and self.algorithms:
            body += sc.attr(0x8002, self.algorithms)
            body += sc.attr(0x001D, struct.pack("!HH", self.algorithm, 0))
        if self.rfc8489 and self.algorithm == SHA256:
            head = struct.pack("!HHI", mtype, len(body) + 36, sc.MAGIC) + tid
            mac = hmac.new(self.key, head + body, hashlib.sha256).digest()
            return head + body + sc.attr(0x001C, mac)
        head = struct.pack("!HHI", mtype, len(body) + 24, sc.MAGIC) + tid
        mac = hmac.new(self.key, head + body, hashlib.sha1).digest()
        return head + body + sc.attr(0x0008, mac)

    def request(self, method, attrs=b"", timeout=1.0):
        """Sends a request (getting a nonce first if needed); returns (type, tid, attrs)."""
        for _ in range(3):
            tid = os.urandom(12)
            if self.nonce is None:
                payload = sc.message(method, attrs, tid=tid)[0]
            else:
                payload = self.signed(method, attrs, tid)
            if self.stream is not None:
                self.stream.sendall(payload)
                try:
                    reply = sc.recv_frame(self.stream, timeout)
                except OSError:
                    reply = None
            else:
                reply = sc.udp_exchange(self.server, payload, timeout=timeout, sock=self.sock)
            if reply is None:
                return None, None, None
            mtype, rtid, rattrs, _ = sc.parse(reply)
            if error_code(rattrs) in (401, 438) and sc.find(rattrs, 0x0015) is not None:
                if self.nonce is not None and error_code(rattrs) == 401:
                    return mtype, rtid, rattrs
                self.learn(rattrs)
                continue
            return mtype, rtid, rattrs
        return mtype, rtid, rattrs

    def allocate(self, extra=b""):
        return self.request(ALLOCATE, sc.attr(0x0019, b"\x11\0\0\0") + extra)

    def create_permission(self, ip):
        # The XOR-PEER-ADDRESS depends on the transaction id, so build it inside request().
        for _ in range(3):
            tid = os.urandom(12)
            payload = self.signed(CREATE_PERMISSION, sc.attr(0x0012, xor_peer(ip, 0, tid)), tid)
            reply = sc.udp_exchange(self.server, payload, timeout=1.0, sock=self.sock)
            if reply is None:
                return None, None
            mtype, _, attrs, _ = sc.parse(reply)
            if error_code(attrs) == 438:
                self.learn(attrs)
                continue
            return mtype, attrs
        return mtype, attrs

    def channel_bind(self, ip, port, channel):
        """ChannelBind of `channel` to ip:port: the reply's message type, or None."""
        for _ in range(3):
            tid = os.urandom(12)
            attrs = sc.attr(0x000C, struct.pack("!HH", channel, 0)) + \
                sc.attr(0x0012, xor_peer(ip, port, tid))
            reply = sc.udp_exchange(self.server, self.signed(CHANNEL_BIND, attrs, tid),
                                    timeout=1.0, sock=self.sock)
            if reply is None:
                continue
            mtype, _, rattrs, _ = sc.parse(reply)
            if error_code(rattrs) == 438:
                self.learn(rattrs)
                continue
            return mtype
        return None

    def send_indication(self, ip, port, data):
        tid = os.urandom(12)
        body = sc.attr(0x0012, xor_peer(ip, port, tid)) + sc.attr(0x0013, data)
        self.sock.sendto(struct.pack("!HHI", SEND_INDICATION, len(body), sc.MAGIC) + tid + body,
                         self.server)

    def exchange(self, peer, relayed, up, down, timeout=3.0):
        """A Send indication carrying `up` to the UDP socket `peer`, which answers `down` to the
        relayed address; returns (what the peer got, from where, the message type and DATA of
        what came back to this client)."""
        self.send_indication(peer.getsockname()[0], peer.getsockname()[1], up)
        peer.settimeout(timeout)
        data, source = peer.recvfrom(65535)
        peer.sendto(down, relayed)
        mtype, _, attrs, _ = self.receive(timeout)
        return data, source, mtype, sc.find(attrs, 0x0013)

    def receive(self, timeout=2.0):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65535)
        except socket.timeout:
            return None
        return sc.parse(data)
