// End-to-end tests of tern as a whole WebRTC deployment: the demo page in two headless Chromium
// pages calls itself through tern's signaling relay and TURN relay (UDP, TCP and TLS, and all on one
// `transport: any` port with the page over HTTPS), three
// calls in six tabs run at once on the default limits, a page gathers a server-reflexive
// candidate from the stun: URL tern lists, and the signaling relay is fed abusive input. Run: TERN_BINARY=build/release/server/app/tern node run.js
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const { startTern, httpGet, metricSum, RELAY_MIN_PORT, RELAY_MAX_PORT } = require("./tern");
const { sleep, within, waitFor, openPeer: openPage, withPages } = require("./pages");

let chromium, WebSocket;
try {
  ({ chromium } = require("playwright-core"));
  WebSocket = require("ws");
} catch (e) {
  console.error(`e2e: ${e.message}\nRun \`npm ci\` in tests/e2e first (scripts/test.sh does).`);
  process.exit(1);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!fs.existsSync(CHROMIUM)) {
  console.error(`e2e: no Chromium at ${CHROMIUM}: install Debian's chromium (scripts/setup.sh --test does), or set CHROMIUM`);
  process.exit(1);
}
const SUITE_LIMIT_MS = 290 * 1000;
// A hung browser or server must not hang CI: the whole suite has a hard deadline.
setTimeout(() => { console.error(`e2e: suite still running after ${SUITE_LIMIT_MS / 1000} s, aborting`); process.exit(2); },
           SUITE_LIMIT_MS).unref();

let tern = null;
let browser = null;
const openPeer = (name, url, logs) => openPage(browser, name, url, logs);
const ternTail = () => `\n--- tern output (tail)\n${tern.output.slice(-30).join("")}`;

async function metrics() {
  const r = await httpGet(tern.url("metrics", "/metrics"));
  assert.equal(r.status, 200, "GET /metrics");
  return r.body;
}

function checkPair(peer, state, transport) {
  const pair = state.selectedPair;
  const where = `${peer.name}'s selected pair ${JSON.stringify(pair)}`;
  assert.ok(pair && pair.local && pair.remote, `${peer.name} has no selected candidate pair`);
  assert.equal(pair.local.candidateType, "relay", `${where}: local candidate is not a relay`);
  assert.equal(pair.remote.candidateType, "relay", `${where}: remote candidate is not a relay`);
  assert.equal(pair.local.relayProtocol, transport, `${where}: relayProtocol`);
  for (const side of ["local", "remote"]) {
    assert.equal(pair[side].address, "127.0.0.1", `${where}: ${side} address is not tern's relay address`);
    assert.ok(pair[side].port >= RELAY_MIN_PORT && pair[side].port <= RELAY_MAX_PORT,
              `${where}: ${side} port is not in tern's relay range ${RELAY_MIN_PORT}-${RELAY_MAX_PORT}`);
  }
}

async function call(transport) {
  const room = `e2e-${transport}-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  const url = tern.url("signaling", `/?room=${room}&transport=${transport}`);
  const logs = [];
  const peers = [];
  const bytesBefore = metricSum(await metrics(), "tern_relayed_bytes_total");
  await withPages(peers, logs, async () => {
    // A joins first (and waits, polite); B joins second and makes the offer.
    const a = await openPeer("A", url, logs);
    peers.push(a);
    await waitFor("A to join the room", async () => (await a.state()).id, 10000);
    const b = await openPeer("B", url, logs);
    peers.push(b);

    const states = await waitFor("both pages connected through tern with video and the data channel", async () => {
      const s = await Promise.all([a.state(), b.state()]);
      return s.every((x) => x.connected && x.dataChannelOpen && x.selectedPair && x.framesDecoded > 0) && s;
    }, 45000);
    for (const s of states) {
      assert.equal(s.iceTransportPolicy, "relay");
      assert.ok(s.iceServers.length > 0 && s.iceServers.every((x) => x.urls.every((u) =>
        transport === "tls" ? u.startsWith("turns:") : u.startsWith("turn:") && u.endsWith("transport=" + transport))),
        `only ${transport} TURN URLs: ${JSON.stringify(s.iceServers)}`);
    }

    // The remote candidate may first be seen as peer-reflexive (the peer's check arrives before
    // its candidate does) and becomes the signalled relay candidate soon after.
    const [sa, sb] = await waitFor("both selected pairs to be relay to relay", async () => {
      const s = await Promise.all([a.state(), b.state()]);
      return s.every((x) => x.selectedPair && x.selectedPair.remote.candidateType === "relay") && s;
    }, 10000).catch(async () => Promise.all([a.state(), b.state()]));
    checkPair(a, sa, transport);
    checkPair(b, sb, transport);
    // Each side's remote candidate is the other side's relayed address on tern.
    assert.equal(`${sa.selectedPair.remote.address}:${sa.selectedPair.remote.port}`,
                 `${sb.selectedPair.local.address}:${sb.selectedPair.local.port}`, "A's remote is B's relayed address");
    assert.equal(`${sb.selectedPair.remote.address}:${sb.selectedPair.remote.port}`,
                 `${sa.selectedPair.local.address}:${sa.selectedPair.local.port}`, "B's remote is A's relayed address");
    const seen = `A ${JSON.stringify(sa.selectedPair)}, B ${JSON.stringify(sb.selectedPair)}, ` +
                 `rtt ${sa.rttMs} ms / ${sb.rttMs} ms`;

    // tern holds the two allocations, on the transport under test.
    const during = await metrics();
    assert.ok(metricSum(during, "tern_allocations_active", { transport }) >= 2,
              `tern_allocations_active{transport="${transport}"} < 2`);

    // Video keeps flowing both ways.
    const frames1 = [sa.framesDecoded, sb.framesDecoded];
    await waitFor("video frames decoded to rise on both pages", async () => {
      const s = await Promise.all([a.state(), b.state()]);
      return s[0].framesDecoded > frames1[0] && s[1].framesDecoded > frames1[1];
    }, 10000);

    // 100 chat messages from A arrive at B, all of them and in order.
    const sent = Array.from({ length: 100 }, (_, i) => `message ${i} over ${transport}`);
    await a.page.evaluate((texts) => { for (const t of texts) window.ternDemo.send(t); }, sent);
    await waitFor("B to receive 100 messages", async () =>
      (await b.page.evaluate(() => window.ternDemo.received().length)) >= sent.length, 15000);
    assert.deepEqual(await b.page.evaluate(() => window.ternDemo.received()), sent);

    const errors = logs.filter((l) => l.includes("pageerror"));
    assert.deepEqual(errors, [], "uncaught errors in the demo page");

    const bytesAfter = metricSum(await metrics(), "tern_relayed_bytes_total");
    assert.ok(bytesAfter > bytesBefore, `tern_relayed_bytes_total did not rise (${bytesBefore} -> ${bytesAfter})`);
    console.log(`# ${transport}: ${seen}; relayed bytes +${bytesAfter - bytesBefore}`);
  }, ternTail);
}

// ---- A signaling client --------------------------------------------------------------------

function signalingClient() {
  const ws = new WebSocket(`ws://${tern.addr("signaling")}/ws`);
  const inbox = [];
  let waiter = null;
  const client = {
    ws, inbox, raw: [],
    closed: new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) }))),
    opened: new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); }),
    send: (obj) => ws.send(typeof obj === "string" ? obj : JSON.stringify(obj)),
    // Resolves the first message (parsed) matching `pred`, removing it from the inbox.
    next(pred = () => true, timeoutMs = 5000, what = "a message") {
      return new Promise((resolve, reject) => {
        const look = () => {
          const i = inbox.findIndex(pred);
          if (i < 0) return false;
          clearTimeout(timer);
          waiter = null;
          resolve(inbox.splice(i, 1)[0]);
          return true;
        };
        const timer = setTimeout(() => { waiter = null; reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(inbox)}`)); }, timeoutMs);
        if (!look()) waiter = look;
      });
    },
    close: () => ws.close(),
  };
  ws.on("error", () => {});
  ws.on("message", (data) => {
    client.raw.push(String(data));
    try { inbox.push(JSON.parse(String(data))); } catch { inbox.push({ unparsable: String(data) }); }
    if (waiter) waiter();
  });
  return client;
}

async function joined(room) {
  const c = signalingClient();
  await c.opened;
  c.send({ type: "join", room });
  c.joined = await c.next((m) => m.type === "joined", 5000, "joined");
  return c;
}
const isError = (code) => (m) => m.type === "error" && m.code === code;

// ---- The tests -----------------------------------------------------------------------------

describe("tern end to end", () => {
  before(async () => {
    tern = await startTern();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30000,
      args: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             "--ignore-certificate-errors", "--no-sandbox"],
    });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (tern) {
      const alive = tern.alive();
      const code = await tern.stop();
      assert.ok(alive, "tern died during the tests:\n" + tern.output.join(""));
      assert.equal(code, 0, "tern's exit code after SIGINT:\n" + tern.output.join(""));
    }
  });

  it("serves the demo page and ICE servers with REST credentials", { timeout: 20000 }, async () => {
    const page = await httpGet(tern.url("signaling", "/"));
    assert.equal(page.status, 200);
    assert.match(page.headers["content-type"], /^text\/html/);
    assert.match(page.body, /window\.ternDemo/);

    const r = await httpGet(tern.url("signaling", "/api/ice-servers"));
    assert.equal(r.status, 200, "loopback needs no token: " + r.body);
    assert.match(r.headers["content-type"], /json/);
    const body = JSON.parse(r.body);
    assert.ok(body.ttl > 0, "ttl");
    assert.equal(body.iceServers.length, 2);
    const [stun, server] = body.iceServers;
    const { udp, tcp, tls } = tern.listeners;
    assert.deepEqual(stun, { urls: [`stun:127.0.0.1:${udp.port}`] });
    assert.deepEqual(server.urls, [`turn:127.0.0.1:${udp.port}?transport=udp`, `turn:127.0.0.1:${tcp.port}?transport=tcp`,
                                   `turns:127.0.0.1:${tls.port}?transport=tcp`]);
    const m = /^(\d+):[0-9a-f]{16}$/.exec(server.username);
    assert.ok(m, "username EXPIRY:RANDOM-ID: " + server.username);
    const again = JSON.parse((await httpGet(tern.url("signaling", "/api/ice-servers"))).body);
    assert.notEqual(again.iceServers[1].username, server.username, "each visitor gets its own name");
    const expiry = Number(m[1]) - Date.now() / 1000;
    assert.ok(Math.abs(expiry - body.ttl) < 60, `expiry ${expiry} s from now, ttl ${body.ttl}`);
    assert.equal(server.credential, crypto.createHmac("sha1", "e2e-secret").update(server.username).digest("base64"));
  });

  for (const transport of ["udp", "tcp", "tls"]) {
    it(`calls through tern's relay over ${transport === "tls" ? "turns: TLS" : "turn: " + transport.toUpperCase()}`,
       { timeout: 75000 }, () => call(transport));
  }

  it("calls over one port: the page, wss: signaling and turns: share a `transport: any` listener",
     { timeout: 90000 }, async () => {
    const shared = await startTern({
      config: (dir) => `realm: e2e.local
workers: 2
state_dir: ${dir}
admin: {socket: ${dir}/admin.sock}
listen:
  - {transport: any, address: "127.0.0.1", port: 0}
metrics: {listen: "127.0.0.1:0"}
signaling: {listen: "127.0.0.1:0"}
auth: {secrets: [e2e-secret]}
relay: {address: 127.0.0.1, min_port: ${RELAY_MIN_PORT}, max_port: ${RELAY_MAX_PORT}}
`,
      need: ["tls", "tcp", "metrics"],
    });
    const { host, port } = shared.listeners.tls;
    const room = `one-port-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
    const url = `https://${host}:${port}/?room=${room}&transport=tls`;
    const logs = [];
    const peers = [];
    const open = (name) => openPage(browser, name, url, logs, { ignoreHTTPSErrors: true });
    try {
      await withPages(peers, logs, async () => {
        const a = await open("A");
        peers.push(a);
        await waitFor("A to join the room over wss:", async () => (await a.state()).id, 10000);
        peers.push(await open("B"));
        const states = await waitFor("both pages connected through turns: on the shared port", async () => {
          const s = await Promise.all(peers.map((p) => p.state()));
          return s.every((x) => x.connected && x.dataChannelOpen && x.selectedPair && x.framesDecoded > 0) && s;
        }, 45000);
        for (const [i, s] of states.entries()) {
          const urls = s.iceServers.flatMap((x) => x.urls);
          assert.deepEqual(urls, [`turns:${host}:${port}?transport=tcp`], `${peers[i].name}'s ICE servers`);
          assert.equal(s.selectedPair.local.candidateType, "relay", `${peers[i].name}: not a relay`);
          assert.equal(s.selectedPair.local.relayProtocol, "tls", `${peers[i].name}: relayProtocol`);
        }
        const m = (await httpGet(shared.url("metrics", "/metrics"))).body;
        assert.ok(metricSum(m, "tern_allocations_active", { transport: "tls" }) >= 2,
                  `tern_allocations_active{transport="tls"} < 2`);
        console.log(`# one port ${host}:${port}: page, wss: and turns: ` +
                    `A ${JSON.stringify(states[0].selectedPair.local)}`);
      }, () => `\n--- tern output (tail)\n${shared.output.slice(-30).join("")}`);
    } finally {
      await shared.stop();
    }
  });

  it("three calls in six tabs on the default limits all connect through tern", { timeout: 90000 }, async () => {
    // Every page gets every URL (stun:, turn: UDP and TCP, turns:), so each peer connection
    // makes three allocations: 18 in all, under names /api/ice-servers mints per visitor.
    const logs = [];
    const peers = [];
    await withPages(peers, logs, async () => {
      const rooms = [1, 2, 3].map((i) => `tabs-${i}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`);
      for (const room of rooms) {
        const url = tern.url("signaling", `/?room=${room}`);
        const a = await openPeer(`${room}/A`, url, logs);
        peers.push(a);
        await waitFor(`A to join ${room}`, async () => (await a.state()).id, 10000);
        peers.push(await openPeer(`${room}/B`, url, logs));
      }
      const states = await waitFor("all six pages connected through tern with video", async () => {
        const s = await Promise.all(peers.map((p) => p.state()));
        return s.every((x) => x.connected && x.dataChannelOpen && x.selectedPair && x.framesDecoded > 0 &&
                              x.selectedPair.local.candidateType === "relay") && s;
      }, 60000);
      const names = new Set();
      for (const [i, s] of states.entries()) {
        assert.equal(s.iceTransportPolicy, "relay", peers[i].name);
        assert.ok(s.selectedPair.local.address === "127.0.0.1" &&
                  s.selectedPair.local.port >= RELAY_MIN_PORT && s.selectedPair.local.port <= RELAY_MAX_PORT,
                  `${peers[i].name}: local candidate is not tern's relay: ${JSON.stringify(s.selectedPair)}`);
        const urls = s.iceServers.flatMap((x) => x.urls);
        assert.ok(urls.some((u) => u.startsWith("stun:")) && urls.filter((u) => u.startsWith("turn")).length === 3,
                  `${peers[i].name} got every URL: ${JSON.stringify(urls)}`);
        for (const x of s.iceServers) if (x.username) names.add(x.username);
      }
      assert.equal(names.size, 6, "one REST name per page: " + JSON.stringify([...names]));
      const m = await metrics();
      assert.ok(metricSum(m, "tern_allocations_active") >= 6, "tern_allocations_active < 6");
      assert.equal(metricSum(m, "tern_requests_total", { method: "allocate", code: "486" }), 0,
                   "an Allocate got 486 Allocation Quota Reached");
    }, ternTail);
  });

  it("gathers a server-reflexive candidate from the stun: URL", { timeout: 40000 }, async () => {
    // A browser without the fake-media flags: its page has no camera permission, so Chromium
    // hides host addresses behind mDNS names and keeps a srflx candidate even where the
    // mapped address equals a local one (as it does on loopback).
    const plain = await chromium.launch({ executablePath: CHROMIUM, timeout: 30000, args: ["--no-sandbox"] });
    try {
      const body = JSON.parse((await httpGet(tern.url("signaling", "/api/ice-servers"))).body);
      const stunOnly = body.iceServers.filter((s) => s.urls.every((u) => u.startsWith("stun:")));
      assert.equal(stunOnly.length, 1, "one stun: entry: " + JSON.stringify(body.iceServers));
      const before = metricSum(await metrics(), "tern_binding_requests_total", { transport: "udp" });
      const page = await (await plain.newContext()).newPage();
      await page.goto("about:blank");
      const candidates = await page.evaluate(async (iceServers) => {
        const pc = new RTCPeerConnection({ iceServers });
        const found = [];
        const done = new Promise((resolve) => {
          pc.onicecandidate = (e) => (e.candidate ? found.push({ type: e.candidate.type, address: e.candidate.address,
                                                                  port: e.candidate.port }) : resolve());
          setTimeout(resolve, 15000);
        });
        pc.createDataChannel("probe");
        await pc.setLocalDescription(await pc.createOffer());
        await done;
        pc.close();
        return found;
      }, stunOnly);
      const srflx = candidates.filter((c) => c.type === "srflx");
      assert.ok(srflx.length > 0, "no srflx candidate: " + JSON.stringify(candidates));
      // On loopback tern sees the browser at 127.0.0.1 and says so in XOR-MAPPED-ADDRESS.
      assert.ok(srflx.some((c) => c.address === "127.0.0.1"), "srflx is not the address tern saw: " + JSON.stringify(srflx));
      assert.ok(candidates.every((c) => c.type !== "relay"), "a stun: URL must not make relay candidates");
      const after = metricSum(await metrics(), "tern_binding_requests_total", { transport: "udp" });
      assert.ok(after > before, `tern answered no Binding request (${before} -> ${after})`);
      console.log(`# srflx from ${stunOnly[0].urls[0]}: ${JSON.stringify(srflx)}`);
    } finally {
      await plain.close().catch(() => {});
    }
  });

  it("withstands signaling abuse", { timeout: 60000 }, async () => {
    const room = `abuse-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;

    // Not joined, garbage, unknown types: errors, and the connection stays usable.
    const c = signalingClient();
    await c.opened;
    c.send({ type: "offer", sdp: "v=0" });
    await c.next(isError("not-joined"), 5000, "not-joined");
    c.send("this is not JSON {");
    await c.next(isError("bad-json"), 5000, "bad-json");
    c.send({ type: "tango" });
    await c.next(isError("unknown-type"), 5000, "unknown-type");
    c.send({ type: "ping" });
    await c.next((m) => m.type === "pong", 5000, "pong");
    c.close();

    // Two members; the third is refused; offers are relayed verbatim; a vanished member is announced.
    const first = await joined(room);
    assert.deepEqual(first.joined.members, []);
    const second = await joined(room);
    assert.deepEqual(second.joined.members, [first.joined.id]);
    const announced = await first.next((m) => m.type === "peer-joined", 5000, "peer-joined");
    assert.equal(announced.id, second.joined.id);
    const third = signalingClient();
    await third.opened;
    third.send({ type: "join", room });
    await third.next(isError("room-full"), 5000, "room-full");
    third.close();
    const offer = '{"type":"offer", "sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n", "extra": [1, {"x": null}]}';
    second.send(offer);
    await first.next((m) => m.type === "offer", 5000, "the relayed offer");
    assert.ok(first.raw.includes(offer), "the offer is relayed verbatim: " + JSON.stringify(first.raw));
    second.ws.terminate();  // abrupt: no close frame
    const bye = await first.next((m) => m.type === "bye", 5000, "bye after an abrupt disconnect");
    assert.equal(bye.id, second.joined.id);
    first.close();

    // A message over 64 KiB closes the connection (1009, message too big).
    const big = await joined(room + "-big");
    big.send({ type: "candidate", candidate: "x".repeat(70 * 1024) });
    const closed = await within(big.closed, 5000);
    assert.ok(closed, "the connection stays open after a 70 KiB message");
    assert.equal(closed.code, 1009, "close code");

    // A flood: some messages get rate-limited; the server still answers afterwards.
    const flood = await joined(room + "-flood");
    for (let i = 0; i < 200; i++) flood.send({ type: "ping" });
    await flood.next(isError("rate-limited"), 5000, "a rate-limited error");
    await sleep(500);
    const pongs = flood.inbox.filter((m) => m.type === "pong").length;
    assert.ok(pongs < 200, `all ${pongs} pings of the flood were answered`);
    flood.close();
    const fresh = signalingClient();
    await fresh.opened;
    fresh.send({ type: "ping" });
    await fresh.next((m) => m.type === "pong", 5000, "pong on a fresh connection after the flood");
    fresh.close();

    assert.equal((await httpGet(tern.url("metrics", "/healthz"))).status, 200, "tern healthy after the abuse");
  });
});
