// The network lab: tern between two clients that each sit behind their own symmetric NAT, and
// tern behind a cloud-style 1:1 NAT, all in network namespaces this file creates and removes.
// Checks that the NATs really are symmetric, that two Chromium pages cannot connect with STUN
// alone, and that with tern (iceTransportPolicy "all") they connect through its relay over
// turn: UDP, turn: TCP and turns: TLS, and through a tern that knows only its private address
// plus relay.public_address. Run: TERN_BINARY=build/release/server/app/tern node run.js
// (as root; without root it skips with exit 77, unless TERN_NETLAB_REQUIRED=1).
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { Lab, sweepStale, internet, natClient, oneToOneHost } = require("./lab");
const {
  SECRET, pages, skipUnlessRunnable, ternIn, browserIn, attachTestProcess, pageUrl, relayedBytes,
  isRelayedThrough, openPair, closeAll,
} = require("./common");
const { sleep, waitFor, withPages } = pages;

skipUnlessRunnable(280);

const TERN_IP = "20.0.0.10";
const CLOUD_IP = "20.0.0.20";  // the 1:1 NAT's public address
const PRIV_IP = "20.0.0.21";   // another 1:1 NAT, whose tern is not told its public address
const TERN_V6 = "2600:1::10";  // tern's IPv6 address (the lab's internet is dual stack)
const V6_CLIENT = "2600:1::20";
const V4_PEER = "20.0.0.40";   // an IPv4-only peer (turnutils_peer)
const ORIGINS = [TERN_IP, CLOUD_IP, PRIV_IP].map((ip) => `http://${ip}:8080`);

const lab = new Lab();
const logs = [];
const terns = {};
const browsers = {};

// Two pages, one per client namespace, in one room (c2's page may get its own query).
function twoPages(host, query, label, queryB = query) {
  const room = `lab-${label}-${crypto.randomBytes(4).toString("hex")}`;
  return openPair(browsers, label, pageUrl(host, room, query), pageUrl(host, room, queryB), logs);
}

// c1 relays through tern, c2 has STUN only: the call needs c2 to reach c1's relayed address.
async function oneSidedCall(host, waitMs) {
  const peers = await twoPages(host, "relay=0&transport=udp", `one-sided-${host}`, "relay=0&transport=stun");
  try {
    const deadline = Date.now() + waitMs;
    let states;
    do {
      await sleep(500);
      states = await Promise.all(peers.map((p) => p.state()));
    } while (Date.now() < deadline && !states.every((x) => x.connected && x.dataChannelOpen));
    return states;
  } finally {
    for (const p of peers) await p.context.close().catch(() => {});
  }
}


async function relayedCall(host, transport, relayIp) {
  const peers = await twoPages(host, `relay=0&transport=${transport}`, `${transport}-${host}`);
  const before = await relayedBytes(host);
  await withPages(peers, logs, async () => {
    const states = await waitFor(`a call over ${transport} through ${host}`, async () => {
      const s = await Promise.all(peers.map((p) => p.state()));
      return s.every((x) => x.connected && x.dataChannelOpen && x.selectedPair && x.framesDecoded > 0) && s;
    }, 45000);
    for (const [i, s] of states.entries()) {
      assert.equal(s.iceTransportPolicy, "all", "policy all: host and relay candidates both allowed");
      assert.ok(isRelayedThrough(s.selectedPair, relayIp),
                `${peers[i].name}: the selected pair does not go through tern's relay ${relayIp}: ${JSON.stringify(s.selectedPair)}`);
    }
    const relayLocal = states.map((s) => s.selectedPair.local).filter((c) => c.candidateType === "relay");
    if (transport !== "udp") assert.ok(relayLocal.every((c) => c.relayProtocol === transport), JSON.stringify(relayLocal));
    const frames = states.map((s) => s.framesDecoded);
    await waitFor("video frames to keep arriving", async () => {
      const s = await Promise.all(peers.map((p) => p.state()));
      return s.every((x, i) => x.framesDecoded > frames[i]);
    }, 10000);
    const sent = Array.from({ length: 100 }, (_, i) => `lab message ${i} over ${transport}`);
    await peers[0].page.evaluate((texts) => { for (const t of texts) window.ternDemo.send(t); }, sent);
    await waitFor("100 messages at c2", async () =>
      (await peers[1].page.evaluate(() => window.ternDemo.received().length)) >= sent.length, 15000);
    assert.deepEqual(await peers[1].page.evaluate(() => window.ternDemo.received()), sent);
    const after = await relayedBytes(host);
    assert.ok(after > before, `tern relayed nothing (${before} -> ${after})`);
    console.log(`# ${transport} via ${host}: ${JSON.stringify(states.map((s) => s.selectedPair))}`);
  });
}

function probe(ns, ...args) {
  return JSON.parse(lab.exec(ns, "python3", [path.join(__dirname, "nat_probe.py"), ...args]).trim().split("\n").pop());
}

describe("tern in a network lab", () => {
  before(async () => {
    sweepStale();
    const net = internet(lab);
    lab.addNamespace("tern");
    const ternIf = net.attach("tern", TERN_IP);
    lab.addr("tern", ternIf, `${TERN_V6}/64`);
    lab.addNamespace("c6");  // IPv6 only
    net.attach("c6", V6_CLIENT);
    lab.addNamespace("peer4");  // IPv4 only
    net.attach("peer4", V4_PEER);
    natClient(lab, net, "c1", "20.0.0.11", "192.168.1");
    natClient(lab, net, "c2", "20.0.0.12", "192.168.2");
    oneToOneHost(lab, net, "cloud", CLOUD_IP, "10.10.0");
    oneToOneHost(lab, net, "priv", PRIV_IP, "10.10.1");
    attachTestProcess(lab);
    terns.public = await ternIn(lab, "tern", { listenIp: TERN_IP, relayIp: TERN_IP, listenV6: TERN_V6 });
    terns.cloud = await ternIn(lab, "cloud", { listenIp: "10.10.0.2", relayIp: "10.10.0.2", publicIp: CLOUD_IP });
    // The operator's DNS (ice_host) is right, but relay.public_address was forgotten.
    terns.priv = await ternIn(lab, "priv", { listenIp: "10.10.1.2", relayIp: "10.10.1.2", iceHost: PRIV_IP });
    browsers.c1 = await browserIn(lab, "c1", ORIGINS);
    browsers.c2 = await browserIn(lab, "c2", ORIGINS);
  });

  after(async () => {
    await closeAll(lab, browsers, terns);
    assert.deepEqual(lab.leftovers(), [], "namespaces left behind");
  });

  it("the NATs are symmetric and drop unsolicited inbound", { timeout: 30000 }, async () => {
    const two = probe("c1", "mapped", "40000", `${TERN_IP}:3478`, `${TERN_IP}:3479`);
    assert.ok(two.mapped.every((m) => m && m.startsWith("20.0.0.11:")), `mapped by c1's NAT: ${JSON.stringify(two)}`);
    assert.notEqual(two.mapped[0], two.mapped[1], "one local port, two destinations, one mapping: not symmetric");
    const listener = lab.spawn("c2", "python3", [path.join(__dirname, "nat_probe.py"), "listen", "40001", `${TERN_IP}:3478`, "3"]);
    let out = "";
    listener.stdout.on("data", (d) => { out += d; });
    const mapped = await waitFor("c2's mapping", async () => {
      const line = out.split("\n").find((l) => l.includes("mapped"));
      return line && JSON.parse(line).mapped;
    }, 5000);
    assert.ok(mapped.startsWith("20.0.0.12:"), mapped);
    probe("c1", "send", mapped, "5");  // straight at c2's reflexive address
    await new Promise((r) => listener.on("exit", r));
    const stray = JSON.parse(out.trim().split("\n").pop()).stray;
    assert.deepEqual(stray, [], "a datagram from c1 reached c2 through its NAT");
  });

  it("with STUN alone the two clients cannot connect (negative control)", { timeout: 60000 }, async () => {
    const peers = await twoPages(TERN_IP, "relay=0&transport=stun", "stun");
    try {
      await sleep(20000);
      const states = await Promise.all(peers.map((p) => p.state()));
      for (const s of states) {
        assert.equal(s.iceTransportPolicy, "all");
        assert.ok(s.iceServers.flatMap((x) => x.urls).every((u) => u.startsWith("stun:")), JSON.stringify(s.iceServers));
        assert.ok(!s.connected, `connected without a relay: ${JSON.stringify(s.selectedPair)}`);
      }
      console.log(`# stun only: ${states.map((s) => s.connectionState).join(", ")}`);
    } finally {
      for (const p of peers) await p.context.close().catch(() => {});
    }
  });

  for (const transport of ["udp", "tcp", "tls"]) {
    it(`through tern over ${transport === "tls" ? "turns: TLS" : "turn: " + transport.toUpperCase()}`, { timeout: 80000 },
       () => relayedCall(TERN_IP, transport, TERN_IP));
  }

  it("through a tern behind a 1:1 NAT with relay.public_address", { timeout: 80000 },
     () => relayedCall(CLOUD_IP, "udp", CLOUD_IP));

  it("behind a 1:1 NAT, relay.public_address decides whether a one-sided relay call connects", { timeout: 90000 }, async () => {
    const connected = await oneSidedCall(CLOUD_IP, 30000);
    assert.ok(connected.every((x) => x.connected && x.dataChannelOpen),
              `with relay.public_address: ${JSON.stringify(connected.map((x) => [x.connectionState, x.selectedPair]))}`);
    assert.ok(isRelayedThrough(connected[0].selectedPair, CLOUD_IP), JSON.stringify(connected[0].selectedPair));
    // Without it: tern says so at start, check-config says so, and the call cannot connect.
    const warning = "relay address 10.10.1.2 is private and relay.public_address is not set";
    assert.ok(terns.priv.output.some((l) => l.includes(warning)), "no warning at start:\n" + terns.priv.output.join(""));
    const cfg = path.join(terns.priv.dir, "tern.yaml");
    const check = execFileSync("sh", ["-c", `ip netns exec ${lab.ns("priv")} "$0" check-config "$1" 2>&1`,
                                      process.env.TERN_BINARY, cfg], { encoding: "utf8" });
    assert.ok(check.includes(warning) && check.includes(": ok"), "check-config: " + check);
    const failed = await oneSidedCall(PRIV_IP, 20000);
    assert.ok(!failed.every((x) => x.connected), `connected through an unreachable relay address: ${JSON.stringify(failed)}`);
    console.log(`# 1:1 NAT: with public_address ${connected.map((x) => x.connectionState)}, without ${failed.map((x) => x.connectionState)}`);
  });

  it("an IPv6-only client reaches an IPv4 peer through tern (turnutils_uclient)", { timeout: 60000 }, () => {
    assert.equal(lab.exec("c6", "ip", ["-4", "addr", "show", "scope", "global"]).trim(), "", "c6 has an IPv4 address");
    lab.spawn("peer4", "turnutils_peer", ["-L", V4_PEER, "-p", "3480"]);
    const user = `${Math.floor(Date.now() / 1000) + 600}:ipv6-client`;
    const pass = crypto.createHmac("sha1", SECRET).update(user).digest("base64");
    // -s: Send indications (Debian's uclient picks channel numbers RFC 8656 no longer allows).
    const out = lab.exec("c6", "timeout", ["40", "turnutils_uclient", "-s", "-u", user, "-w", pass, "-p", "3478",
                                           "-n", "50", "-m", "2", "-l", "120", "-e", V4_PEER, "-r", "3480", TERN_V6]);
    const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(out);
    const lost = /Total lost packets (\d+)/.exec(out);
    assert.ok(totals, out.slice(-2000));
    assert.deepEqual([Number(totals[1]), Number(totals[2])], [100, 100], out.slice(-2000));
    assert.equal(Number(lost[1]), 0, out.slice(-2000));
    console.log(`# IPv6 client ${V6_CLIENT} -> tern [${TERN_V6}] -> IPv4 peer ${V4_PEER}: 100/100 messages`);
  });
});
