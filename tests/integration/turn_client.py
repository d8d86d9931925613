"""A small TURN client over UDP for tern's integration tests (long-term credentials, RFC 8656)."""
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


class TurnClient:
    def __init__(self, server, user, password, realm="test.local", local=None):
        self.server = server
        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((local or ("::1" if family == socket.AF_INET6 else "127.0.0.1"), 0))
        self.user, self.realm = user, realm
        self.key = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()
        self.nonce = None

    def close(self):
        self.sock.close()

    def signed(self, mtype, attrs, tid):
        body = attrs + sc.attr(0x0006, self.user.encode()) + sc.attr(0x0014, self.realm.encode())
        body += sc.attr(0x0015, self.nonce)
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
            reply = sc.udp_exchange(self.server, payload, timeout=timeout, sock=self.sock)
            if reply is None:
                return None, None, None
            mtype, rtid, rattrs, _ = sc.parse(reply)
            if error_code(rattrs) in (401, 438) and sc.find(rattrs, 0x0015) is not None:
                if self.nonce is not None and error_code(rattrs) == 401:
                    return mtype, rtid, rattrs
                self.nonce = sc.find(rattrs, 0x0015)
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
                self.nonce = sc.find(attrs, 0x0015)
                continue
            return mtype, attrs
        return mtype, attrs

    def send_indication(self, ip, port, data):
        tid = os.urandom(12)
        body = sc.attr(0x0012, xor_peer(ip, port, tid)) + sc.attr(0x0013, data)
        self.sock.sendto(struct.pack("!HHI", SEND_INDICATION, len(body), sc.MAGIC) + tid + body,
                         self.server)

    def receive(self, timeout=2.0):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65535)
        except socket.timeout:
            return None
        return sc.parse(data)
