// What the lab's test files share: tern started inside a namespace, Chromium inside a
// namespace, the test process on the lab's internet, and the skip rule for machines without root.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { canRun } = require("./lab");

const E2E = path.join(__dirname, "..", "e2e");
const { startTern, httpGet, metricSum } = require(path.join(E2E, "tern"));
const pages = require(path.join(E2E, "pages"));
const { chromium } = require(path.join(E2E, "node_modules", "playwright-core"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SECRET = "netlab-secret";
const TOKEN = "netlab-token";
const ROOT_IP = "20.0.0.1";  // the test process, on the lab's internet

// Exits 77 (ctest: skipped) where the lab cannot be built, or 1 if TERN_NETLAB_REQUIRED=1.
function skipUnlessRunnable(limitSeconds) {
  const why = canRun() || (fs.existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}`);
  if (why) {
    if (process.env.TERN_NETLAB_REQUIRED === "1") {
      console.error(`netlab: cannot run (${why}) but TERN_NETLAB_REQUIRED=1`);
      process.exit(1);
    }
    console.log(`# SKIP netlab: ${why}`);
    process.exit(77);
  }
  setTimeout(() => { console.error(`netlab: still running after ${limitSeconds} s, aborting`); process.exit(2); },
             limitSeconds * 1000).unref();
}

// tern's config for a lab node: listeners on `listenIp` (UDP 3478 and 3479, TCP 3478, TLS
// 5349), signaling on :8080 with the lab token, metrics on :9641, the lab's REST secret.
function ternConfig({ listenIp, relayIp, publicIp, iceHost, iceUrls, listenV6, extra = "" }) {
  return (dir) => `realm: netlab.example
workers: 2
state_dir: ${dir}
admin: {socket: ${dir}/admin.sock}
listen:
  - {transport: udp, address: "${listenIp}", port: 3478}
  - {transport: udp, address: "${listenIp}", port: 3479}
  - {transport: tcp, address: "${listenIp}", port: 3478}
  - {transport: tls, address: "${listenIp}", port: 5349}
${listenV6 ? `  - {transport: udp, address: "${listenV6}", port: 3478}\n` : ""}relay: {address: ${relayIp}${publicIp ? `, public_address: ${publicIp}` : ""}, min_port: 50000, max_port: 50999}
metrics: {listen: "${listenIp}:9641"}
signaling: {listen: "${listenIp}:8080", token: ${TOKEN}${iceHost ? `, ice_host: ${iceHost}` : ""}${
    iceUrls ? `, ice_urls: [${iceUrls.map((u) => `"${u}"`).join(", ")}]` : ""}}
auth: {secrets: [${SECRET}]}
${extra}`;
}

function ternIn(lab, ns, opts) {
  return startTern({
    config: ternConfig(opts),
    spawn: (binary, args) => lab.spawn(ns, binary, args),
    need: ["udp", "tcp", "tls", "metrics", "signaling"],
  });
}

// A Chromium that runs inside namespace `ns` (Playwright talks to it over a pipe, which crosses
// namespaces). Pages come from the lab's public addresses over http: `origins` are treated as
// secure so the fake camera works.
async function browserIn(lab, ns, origins) {
  const wrapper = path.join(os.tmpdir(), `${lab.ns(ns)}-chromium.sh`);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.ns(ns)} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  lab.tempFiles = (lab.tempFiles || []).concat(wrapper);
  return chromium.launch({
    executablePath: wrapper,
    timeout: 30000,
    args: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--ignore-certificate-errors",
           "--no-sandbox", `--unsafely-treat-insecure-origin-as-secure=${origins.join(",")}`],
  });
}

// This process on the lab's internet (ROOT_IP), through a veth whose other end is in the
// bridge namespace: it goes when the lab does.
function attachTestProcess(lab) {
  const rootIf = `${lab.prefix}r`;
  execFileSync("ip", ["link", "add", rootIf, "type", "veth", "peer", "name", "vroot", "netns", lab.ns("inet")]);
  lab.exec("inet", "ip", ["link", "set", "vroot", "master", "br0"]);
  lab.exec("inet", "ip", ["link", "set", "vroot", "up"]);
  execFileSync("ip", ["addr", "add", `${ROOT_IP}/24`, "dev", rootIf]);
  execFileSync("ip", ["link", "set", rootIf, "up"]);
}

function pageUrl(host, room, query) {
  return `http://${host}:8080/?room=${room}&${query}#token=${TOKEN}`;
}

async function relayedBytes(host) {
  const r = await httpGet(`http://${host}:9641/metrics`);
  return metricSum(r.body, "tern_relayed_bytes_total");
}

function isRelayedThrough(pair, ip) {
  return [pair.local, pair.remote].some((c) => c.candidateType === "relay" && c.address === ip);
}

// Opens a call's two pages into `peers`: c1's (its browser, `urlA`) first, and once it has
// joined its room, c2's (`urlB`). Returns `peers`.
async function openPair(browsers, label, urlA, urlB, logs, peers = []) {
  peers.push(await pages.openPeer(browsers.c1, `c1/${label}`, urlA, logs));
  await pages.waitFor(`c1/${label} to join`, async () => (await peers[0].state()).id, 10000);
  peers.push(await pages.openPeer(browsers.c2, `c2/${label}`, urlB, logs));
  return peers;
}

async function closeAll(lab, browsers, terns) {
  for (const b of Object.values(browsers)) await b.close().catch(() => {});
  for (const t of Object.values(terns)) await t.stop().catch(() => {});
  lab.destroy();
  for (const f of lab.tempFiles || []) fs.rmSync(f, { force: true });
}

module.exports = {
  SECRET, TOKEN, ROOT_IP, httpGet, pages, skipUnlessRunnable, ternConfig, ternIn, browserIn,
  attachTestProcess, pageUrl, relayedBytes, isRelayedThrough, openPair, closeAll,
};
