#!/usr/bin/env bash
# Turns tests/vectors/data/*.hex into binary libFuzzer seeds under OUT_DIR/<fuzz target>/.
set -euo pipefail
out=${1:?usage: make_corpus.sh OUT_DIR}
root="$(cd "$(dirname "$0")/../.." && pwd)"
vectors="$(cd "$(dirname "$0")/../vectors/data" && pwd)"
mkdir -p "$out"/{fuzz_message,fuzz_attributes,fuzz_channel_data,fuzz_stream,fuzz_core,fuzz_config,fuzz_signaling,fuzz_proxy_header,fuzz_access_token,fuzz_dtls,fuzz_first_bytes,fuzz_kernel_relay}

python3 - "$vectors" "$out" <<'PY'
import pathlib, struct, sys

vectors, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
COOKIE = 0x2112A442

# Attribute type -> decoder selector of fuzz_attributes.cpp (keep in step with its switch).
SELECTOR = {0x0001: 0, 0x8023: 0, 0x802B: 0, 0x802C: 0, 0x0020: 1, 0x0012: 1, 0x0016: 1,
            0x0006: 2, 0x0014: 3, 0x0015: 4, 0x8022: 5, 0x8003: 6, 0x0009: 7, 0x000A: 8,
            0x000C: 9, 0x000D: 10, 0x0019: 11, 0x0017: 12, 0x8000: 13, 0x8001: 14,
            0x0018: 15, 0x0022: 16, 0x001A: 17, 0x0013: 18, 0x8004: 19, 0x002A: 20,
            0x001D: 21, 0x8002: 22, 0x001E: 23}

# One well-formed value per selector, so every decoder has a seed.
HAND_BUILT = [
    bytes.fromhex("00011234c0000201"), bytes.fromhex("0001a147e112a643"), b"evtj:h6vY",
    b"example.org", b"f//499k954d6OL34oL9FSTvy64sA", b"STUN test client", b"example.com",
    bytes.fromhex("00000401") + b"Unauthorized", bytes.fromhex("00018028"),
    bytes.fromhex("40000000"), bytes.fromhex("00000258"), bytes.fromhex("11000000"),
    bytes.fromhex("01000000"), bytes.fromhex("02000000"),
    bytes.fromhex("02000440") + b"Address Family not Supported", bytes.fromhex("80"),
    bytes(range(1, 9)), b"", bytes.fromhex("010203"), bytes.fromhex("00000301000005dc"),
    bytes.fromhex("12345678"), bytes.fromhex("00020000"), bytes.fromhex("0001000000020000"),
    bytes(range(32)),
]

def load(path):
    digits = "".join(c for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#") for c in line if c in "0123456789abcdefABCDEF")
    return bytes.fromhex(digits)

def attributes(msg):
    """(type, value) of each TLV of a well-framed STUN message; nothing for anything else."""
    if len(msg) < 20 or struct.unpack_from(">I", msg, 4)[0] != COOKIE:
        return
    if 20 + struct.unpack_from(">H", msg, 2)[0] != len(msg):
        return
    pos = 20
    while pos + 4 <= len(msg):
        t, n = struct.unpack_from(">HH", msg, pos)
        if pos + 4 + n > len(msg):
            return
        yield t, msg[pos + 4:pos + 4 + n]
        pos += 4 + (n + 3) // 4 * 4

def write(target, name, data):
    (out / target / name).write_bytes(data)

stream = b""
for path in sorted(vectors.glob("*.hex")):
    data, name = load(path), path.stem
    write("fuzz_message", name, data)
    write("fuzz_stream", name, bytes([len(data) // 2 % 256]) + data)
    messages = [data]
    if "channeldata" in name:
        write("fuzz_channel_data", name, data)
        messages.append(data[4:])  # a ChannelData payload may itself be STUN
        if len(data) >= 4:
            stream += data + bytes(-len(data) % 4)  # padded as on a stream transport
    elif data and data[0] < 4:
        stream += data
    if len(messages) > 1:
        write("fuzz_message", name + "_payload", messages[1])
    for msg in messages:
        for i, (t, value) in enumerate(attributes(msg)):
            if t in SELECTOR:
                write("fuzz_attributes", f"{name}_{i}_{t:04x}", bytes([SELECTOR[t]]) + value)

for selector, value in enumerate(HAND_BUILT):
    write("fuzz_attributes", f"hand_{selector:02d}", bytes([selector]) + value)
write("fuzz_stream", "all_vectors", bytes([97]) + stream)

# fuzz_core reads its steps' choices from the end of the input (FuzzedDataProvider): a run of
# one byte value repeats one kind of step; the vectors give its raw datagrams something real.
for step in range(12):
    write("fuzz_core", f"steps_{step:02d}", bytes([step]) * 256)
write("fuzz_core", "vectors_then_steps", stream[:2048] + bytes(range(12)) * 16)

# fuzz_signaling: (op, member) pairs; op 0 connects, 1 sends raw text (length byte, text),
# 2 sends a template (kind, argument: 0 join, 1 offer, 2 answer, 3 candidate, 4 bye, 5 ping),
# 3 disconnects, 4 steps the clock. A call: two join room "a", offer, answer, candidate, bye.
call = bytes([0, 0, 0, 0, 2, 0, 0, 0, 2, 1, 0, 0, 2, 0, 1, 0, 2, 1, 2, 0, 2, 0, 3, 0, 2, 1, 4, 0, 3, 0])
write("fuzz_signaling", "call", call)
raw = b'{"type":"join","room":"b"}'
write("fuzz_signaling", "raw_join_and_flood", bytes([0, 0, 1, 0, len(raw)]) + raw + bytes([2, 0, 5, 0]) * 40)
write("fuzz_signaling", "rooms_fill", bytes([0, 0] * 8) + b"".join(bytes([2, i, 0, i]) for i in range(8)))

# fuzz_proxy_header: the header forms a balancer sends, each followed by a TLS record's start.
V2 = bytes.fromhex("0d0a0d0a000d0a515549540a")
def v2(ver_cmd, fam, body):
    return V2 + bytes([ver_cmd, fam]) + struct.pack(">H", len(body)) + body
inet = bytes([192, 0, 2, 7, 198, 51, 100, 1, 0xC7, 0x38, 0x0D, 0x96])
for name, header in [
        ("v1_tcp4", b"PROXY TCP4 192.0.2.7 198.51.100.1 51000 3478\r\n"),
        ("v1_tcp6", b"PROXY TCP6 2001:db8::7 2001:db8::1 443 5349\r\n"),
        ("v1_unknown", b"PROXY UNKNOWN\r\n"),
        ("v2_tcp4", v2(0x21, 0x11, inet)),
        ("v2_tcp4_tlvs", v2(0x21, 0x11, inet + b"\x01\x00\x02h2\x04\x00\x00")),
        ("v2_udp6", v2(0x21, 0x22, bytes(36))),
        ("v2_local", v2(0x20, 0x00, b"")),
        ("v2_unix", v2(0x21, 0x31, bytes(216)))]:
    write("fuzz_proxy_header", name, header + b"\x16\x03\x01\x02\x00")
# Found by the fuzzer: a CRLF straddling the 107-byte bound was read past the line's end.
write("fuzz_proxy_header", "regression_crlf_at_bound", bytes.fromhex(
    "50524f58592054435f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5"
    "f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5030203139322e5d2e322e372031340d0a1603010200"))

# fuzz_access_token: the RFC 7635 sample tokens (they do not open with the target's key, but
# give the parser their shape), and a run of field bytes for the sealing half.
for path in sorted(vectors.glob("rfc7635_*.hex")):
    write("fuzz_access_token", path.stem, load(path))
write("fuzz_access_token", "fields", bytes([19]) + bytes(range(64)))

# fuzz_dtls: a DTLS 1.2 ClientHello (as tests/integration/test_dtls.py builds it) from client 0,
# without and after a finished handshake. FuzzedDataProvider takes the datagram from the front
# and the choices from the end: length (low, high byte), step kind, client, connect first.
ext = bytes.fromhex("000a00040002001700" "0b0002010000" "0d000400020403")
body = (b"\xfe\xfd" + bytes(range(32)) + b"\x00\x00" + b"\x00\x02\xc0\x2b\x01\x00" +
        struct.pack(">H", len(ext)) + ext)
hs = b"\x01" + len(body).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00" + len(body).to_bytes(3, "big") + body
hello = b"\x16\xfe\xfd" + bytes(8) + struct.pack(">H", len(hs)) + hs
for name, connect in [("client_hello", 0), ("client_hello_after_handshake", 1)]:
    write("fuzz_dtls", name, hello + bytes([len(hello) & 0xFF, len(hello) >> 8, 1, 0, connect]))

# fuzz_first_bytes: a TLS ClientHello with ALPN and SNI (Python's OpenSSL writes it), an HTTP
# request line and a STUN Binding request.
import ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["stun.turn", "http/1.1"])
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname="turn.example.org")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
write("fuzz_first_bytes", "client_hello_alpn_sni", outgoing.read())
write("fuzz_first_bytes", "http_get", b"GET /api/ice-servers HTTP/1.1\r\nHost: a\r\n\r\n")
write("fuzz_first_bytes", "stun_binding", bytes.fromhex("000100002112a442") + bytes(12))

# fuzz_kernel_relay: a mode byte (which routes the maps hold), then an Ethernet/IPv4/UDP frame
# with valid checksums: ChannelData from a client, and a peer's datagram.
def csum(data):
    data += b"\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total

def frame(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                               bytes(src), bytes(dst)))
    ip[10:12] = struct.pack("!H", 0xFFFF - csum(bytes(ip)))
    udp = bytearray(struct.pack("!HHHH", sport, dport, udp_len, 0) + payload)
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp[6:8] = struct.pack("!H", (0xFFFF - csum(pseudo + bytes(udp))) or 0xFFFF)
    return bytes(6) + bytes(6) + b"\x08\x00" + bytes(ip) + bytes(udp)

data = bytes(range(48))
write("fuzz_kernel_relay", "channel_data",
      b"\x01" + frame([198, 51, 100, 7], [203, 0, 113, 1], 40000, 3478,
                      struct.pack("!HH", 0x4001, len(data)) + data))
write("fuzz_kernel_relay", "peer_datagram",
      b"\x04" + frame([192, 0, 2, 9], [203, 0, 113, 2], 7000, 50000, data))
PY
# fuzz_config: every config the project ships.
for f in "$root"/deploy/tern.example.yaml "$root"/deploy/debian/tern.yaml "$root"/deploy/container/tern.yaml \
         "$root"/deploy/kubernetes/*/tern.yaml; do
  cp "$f" "$out/fuzz_config/$(echo "${f#"$root"/}" | tr / _)"
done
