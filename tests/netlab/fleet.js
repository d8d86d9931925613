// A fleet of three tern nodes in the lab, each with its own public address, sharing only the
// TURN REST secret: credentials from any node work on every node, /api/ice-servers lists the
// fleet, and a drained node keeps its allocations while sending new ones to a live node (300
// ALTERNATE-SERVER), so new calls land elsewhere. Run as root:
//   TERN_BINARY=$PWD/build/release/server/app/tern node tests/netlab/fleet.js
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const path = require("node:path");
const { execFileSync, spawn } = require("node:child_process");
const { Lab, sweepStale, internet, natClient } = require("./lab");
const {
  TOKEN, httpGet, pages, skipUnlessRunnable, ternIn, browserIn, attachTestProcess, pageUrl,
  isRelayedThrough, openPair, closeAll,
} = require("./common");
const { waitFor, withPages } = pages;

skipUnlessRunnable(380);

const NODES = { n1: "20.0.0.31", n2: "20.0.0.32", n3: "20.0.0.33" };
// Serves the pages and signaling of the rolling-restart calls and is never restarted; not in
// the browsers' secure origins, so its pages have no camera: data channel only, light enough
// for many calls at once.
const SIG_IP = "20.0.0.35";
const ALTERNATE = { n1: "n2", n2: "n3", n3: "n1" };
const FLEET_URLS = Object.values(NODES).map((ip) => `turn:${ip}:3478?transport=udp`);
const ORIGINS = Object.values(NODES).map((ip) => `http://${ip}:8080`);
const lab = new Lab();
const logs = [];
const terns = {};
const browsers = {};

// Each node sends the clients it refuses while draining to the next one.
function startNode(name) {
  const ip = NODES[name];
  const extra = `alternate_servers: ["${NODES[ALTERNATE[name]]}:3478"]\n`;
  return ternIn(lab, name, { listenIp: ip, relayIp: ip, iceUrls: FLEET_URLS, extra });
}

async function iceServers(ip) {
  const r = await httpGet(`http://${ip}:8080/api/ice-servers`, { Authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200, `${ip}: ${r.body}`);
  return JSON.parse(r.body);
}

function credentialOf(body) {
  const entry = body.iceServers.find((s) => s.username);
  return [entry.username, entry.credential];
}

// Runs fleet_probe.py from this process (on the lab's internet); returns its JSON lines.
function probe(...args) {
  const out = execFileSync("python3", [path.join(__dirname, "fleet_probe.py"), ...args], { encoding: "utf8" });
  return out.trim().split("\n").map((l) => JSON.parse(l));
}

describe("a fleet of tern nodes", () => {
  before(async () => {
    sweepStale();
    const net = internet(lab);
    for (const [name, ip] of Object.entries(NODES)) {
      lab.addNamespace(name);
      net.attach(name, ip);
    }
    natClient(lab, net, "c1", "20.0.0.11", "192.168.1");
    natClient(lab, net, "c2", "20.0.0.12", "192.168.2");
    attachTestProcess(lab);
    lab.addNamespace("sig");
    net.attach("sig", SIG_IP);
    for (const name of Object.keys(NODES)) terns[name] = await startNode(name);
    terns.sig = await ternIn(lab, "sig", { listenIp: SIG_IP, relayIp: SIG_IP, iceUrls: FLEET_URLS });
    browsers.c1 = await browserIn(lab, "c1", ORIGINS);
    browsers.c2 = await browserIn(lab, "c2", ORIGINS);
  });

  after(async () => {
    await closeAll(lab, browsers, terns);
    assert.deepEqual(lab.leftovers(), [], "namespaces left behind");
  });

  it("credentials minted by any node work on every node", { timeout: 30000 }, async () => {
    for (const [from, ip] of Object.entries(NODES)) {
      const [user, pass] = credentialOf(await iceServers(ip));
      for (const [on, target] of Object.entries(NODES)) {
        const [result] = probe("allocate", `${target}:3478`, user, pass);
        assert.equal(result.code, 200, `a credential from ${from} on ${on}: ${JSON.stringify(result)}`);
        assert.ok(result.relayed.startsWith(`${target}:`), JSON.stringify(result));
      }
    }
  });

  it("/api/ice-servers lists the fleet, not only the node that answered", { timeout: 10000 }, async () => {
    for (const ip of Object.values(NODES)) {
      const body = await iceServers(ip);
      const urls = body.iceServers.flatMap((s) => s.urls);
      assert.deepEqual(urls, FLEET_URLS, `${ip}: ${JSON.stringify(body)}`);
    }
  });

  it("a drained node keeps its allocations and sends new ones to a live node", { timeout: 40000 }, async () => {
    const [user, pass] = credentialOf(await iceServers(NODES.n1));
    const held = spawn("python3", [path.join(__dirname, "fleet_probe.py"), "allocate", `${NODES.n1}:3478`, user, pass,
                                   "--keep", "4"]);
    let out = "";
    held.stdout.on("data", (d) => { out += d; });
    const first = await waitFor("the allocation on n1", async () => {
      const line = out.split("\n")[0];
      return line && JSON.parse(line);
    }, 10000);
    assert.equal(first.code, 200, JSON.stringify(first));
    const drain = execFileSync(process.env.TERN_BINARY,
                               ["drain", "--socket", path.join(terns.n1.dir, "admin.sock"), "--deadline", "5m"],
                               { encoding: "utf8" });
    assert.match(drain, /allocations/);
    const [refused] = probe("allocate", `${NODES.n1}:3478`, user, pass);
    assert.equal(refused.code, 300, `a new Allocate on a draining node: ${JSON.stringify(refused)}`);
    assert.equal(refused.alternate, `${NODES.n2}:3478`);
    await new Promise((r) => held.on("exit", r));
    const refreshes = JSON.parse(out.trim().split("\n").pop()).refreshes;
    assert.ok(refreshes.length >= 3 && refreshes.every((c) => c === 200),
              `the allocation made before the drain: refreshes ${JSON.stringify(refreshes)}`);
    const ready = await httpGet(`http://${NODES.n1}:9641/readyz`);
    assert.equal(ready.status, 503, "a draining node is not ready");
  });

  it("new calls land on the nodes that are not draining", { timeout: 80000 }, async () => {
    const room = `fleet-${crypto.randomBytes(4).toString("hex")}`;
    const url = pageUrl(NODES.n2, room, "transport=udp");  // relay only: every pair is relayed
    const peers = [];
    await withPages(peers, logs, async () => {
      await openPair(browsers, "fleet", url, url, logs, peers);
      const states = await waitFor("a call through the fleet", async () => {
        const s = await Promise.all(peers.map((p) => p.state()));
        return s.every((x) => x.connected && x.dataChannelOpen && x.selectedPair && x.framesDecoded > 0) && s;
      }, 45000);
      for (const s of states) {
        const relays = [s.selectedPair.local, s.selectedPair.remote].filter((c) => c.candidateType === "relay");
        assert.ok(relays.length > 0, JSON.stringify(s.selectedPair));
        assert.ok(!isRelayedThrough(s.selectedPair, NODES.n1), `a new call went through the draining n1: ${JSON.stringify(s.selectedPair)}`);
        assert.ok(relays.every((c) => c.address === NODES.n2 || c.address === NODES.n3), JSON.stringify(s.selectedPair));
      }
      console.log(`# fleet call: ${JSON.stringify(states.map((s) => s.selectedPair))}`);
    });
  });

  it("a rolling restart with a new call every second drops no call", { timeout: 300000 }, async () => {
    await terns.n1.stop();  // drained by the test above
    terns.n1 = await startNode("n1");
    const CALL_MS = 6000;
    // Longer than any call (30 s to connect, CALL_MS, 5 s for the last tick): a drain that
    // reaches it would cut calls, which is what this test must not hide. Calls hang up when
    // they end, so a node stops as soon as the calls that started before its drain are over.
    const DRAIN_DEADLINE_S = 45;
    const t0 = Date.now();
    const at = () => +((Date.now() - t0) / 1000).toFixed(1);
    const calls = [];
    let stop = false;
    // One call: two pages in a room on the signaling node, relay only, the fleet's URLs; it
    // must connect, stay connected for CALL_MS and carry a message each second both ways.
    async function call(i) {
      const room = `roll-${i}-${crypto.randomBytes(3).toString("hex")}`;
      const url = pageUrl(SIG_IP, room, "transport=udp");
      const peers = [];
      const record = { i, connected: false, dropped: null, relays: [], started: at() };
      calls.push(record);
      try {
        await openPair(browsers, `roll${i}`, url, url, logs, peers);
        const states = await waitFor(`call ${i} to connect`, async () => {
          const s = await Promise.all(peers.map((p) => p.state()));
          return s.every((x) => x.connected && x.dataChannelOpen) && s;
        }, 30000);
        record.connected = at();
        record.relays = states.map((s) => s.selectedPair && s.selectedPair.local.address);
        const until = Date.now() + CALL_MS;
        let n = 0;
        while (Date.now() < until) {
          await pages.sleep(1000);
          n += 1;
          await peers[0].page.evaluate((t) => window.ternDemo.send(t), `tick ${n}`);
          const s = await Promise.all(peers.map((p) => p.state()));
          if (!s.every((x) => x.connected && x.dataChannelOpen)) throw new Error(`dropped: ${JSON.stringify(s.map((x) => x.connectionState))}`);
        }
        await waitFor(`call ${i}: every tick at c2`, async () =>
          (await peers[1].page.evaluate(() => window.ternDemo.received().length)) >= n, 5000);
        record.ended = at();
      } catch (e) {
        record.dropped = `${at()} s: ${e.message.split("\n")[0]}`;
      } finally {
        for (const p of peers) await p.page.evaluate(() => window.ternDemo.hangup()).catch(() => {});
        for (const p of peers) await p.context.close().catch(() => {});
      }
    }
    // A new call each second while fewer than MAX_CALLS are under way: steady traffic through
    // every restart, without more browser pages than two cores can keep connected.
    const MAX_CALLS = 6;
    const starter = (async () => {
      const running = new Set();
      for (let i = 0; !stop; i++) {
        while (running.size >= MAX_CALLS) await Promise.race(running);
        const c = call(i).finally(() => running.delete(c));
        running.add(c);
        await pages.sleep(1000);
      }
      await Promise.all(running);
    })();
    await pages.sleep(3000);
    const restarts = [];
    for (const name of Object.keys(NODES)) {
      const from = at();
      execFileSync(process.env.TERN_BINARY, ["drain", "--socket", path.join(terns[name].dir, "admin.sock"),
                                             "--deadline", `${DRAIN_DEADLINE_S}s`], { encoding: "utf8" });
      const socket = path.join(terns[name].dir, "admin.sock");
      let held = "";
      await waitFor(`${name} to finish draining`, async () => {
        if (!terns[name].alive()) return true;
        if (at() - from > 20 && !held) {  // what keeps a drain past any call's length
          try { held = execFileSync(process.env.TERN_BINARY, ["sessions", "list", "--socket", socket], { encoding: "utf8" }); }
          catch (e) { held = String(e); }
          console.log(`# ${name} still draining after 20 s; its allocations:\n${held.replace(/^/gm, "#   ")}`);
        }
        return false;
      }, (DRAIN_DEADLINE_S + 10) * 1000);
      const stopped = at();
      await terns[name].stop();
      terns[name] = await startNode(name);
      restarts.push(`${name} drained ${from}-${stopped} s, up again at ${at()} s`);
      await pages.sleep(2000);
    }
    stop = true;
    await starter;
    const dropped = calls.filter((c) => !c.connected || c.dropped);
    console.log(`# rolling restart (${restarts.join(", ")}): ${calls.length} calls, ${dropped.length} dropped; ` +
                `calls (started, connected, ended s; relays) ${JSON.stringify(calls.map((c) =>
                  `${c.started}/${c.connected}/${c.ended || c.dropped} ${c.relays.join("/")}`))}`);
    assert.ok(calls.length >= 15, `only ${calls.length} calls started`);
    assert.deepEqual(dropped, [], "calls that did not connect or were dropped");
  });
});
