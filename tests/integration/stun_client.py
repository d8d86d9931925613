"""Minimal STUN client used by tern's integration tests (RFC 8489 encoding, written for tests)."""
import binascii
import os
import socket
import ssl
import struct
import time

MAGIC = 0x2112A442
FINGERPRINT_XOR = 0x5354554E


def attr(atype, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", atype, len(value)) + value + b"\0" * pad


def message(mtype, attrs=b"", tid=None, cookie=MAGIC, fingerprint=False):
    tid = tid or os.urandom(12)
    body = attrs
    if fingerprint:
        head = struct.pack("!HHI", mtype, len(body) + 8, cookie) + tid
        crc = binascii.crc32(head + body) ^ FINGERPRINT_XOR
        body += attr(0x8028, struct.pack("!I", crc & 0xFFFFFFFF))
    return struct.pack("!HHI", mtype, len(body), cookie) + tid + body, tid


def binding_request(**kw):
    return message(0x0001, **kw)


def parse(data):
    """Returns (type, tid, [(attr_type, value)]) or raises ValueError."""
    if len(data) < 20:
        raise ValueError("short")
    mtype, length, cookie = struct.unpack("!HHI", data[:8])
    if length + 20 != len(data):
        raise ValueError("length")
    attrs, pos = [], 20
    while pos < len(data):
        t, n = struct.unpack("!HH", data[pos:pos + 4])
        attrs.append((t, data[pos + 4:pos + 4 + n]))
        pos += 4 + n + (4 - n % 4) % 4
    return mtype, data[8:20], attrs, cookie


def find(attrs, atype):
    for t, v in attrs:
        if t == atype:
            return v
    return None


def xor_address(value, tid):
    family = value[1]
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
    mask = struct.pack("!I", MAGIC) + tid
    raw = bytes(b ^ mask[i] for i, b in enumerate(value[4:]))
    ip = socket.inet_ntop(socket.AF_INET if family == 1 else socket.AF_INET6, raw)
    return ip, port


def plain_address(value):
    family = value[1]
    port = struct.unpack("!H", value[2:4])[0]
    ip = socket.inet_ntop(socket.AF_INET if family == 1 else socket.AF_INET6, value[4:])
    return ip, port


def udp_exchange(server, payload, timeout=1.0, sock=None):
    """Sends one datagram; returns the reply bytes or None after `timeout`."""
    own = sock is None
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    s = sock or socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(payload, server)
        try:
            return s.recv(65535)
        except socket.timeout:
            return None
    finally:
        if own:
            s.close()


def recv_frame(s, timeout=2.0):
    """Reads one STUN message from a stream socket."""
    s.settimeout(timeout)
    buf = b""
    while len(buf) < 20:
        chunk = s.recv(20 - len(buf))
        if not chunk:
            return None
        buf += chunk
    length = struct.unpack("!H", buf[2:4])[0]
    while len(buf) < 20 + length:
        chunk = s.recv(20 + length - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tls_connect(server, min_version=None, max_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    raw = socket.create_connection(server, timeout=3)
    return ctx.wrap_socket(raw)


def wait_until(predicate, seconds=5.0, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
