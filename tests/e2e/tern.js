// Starts the real tern binary on loopback with a temporary config and reads the addresses it
// bound from its startup banner ("  listening <kind> <ip>:<port>").
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const http = require("node:http");

const RELAY_MIN_PORT = 61000;  // above Linux's ephemeral range, so only relay candidates use it
const RELAY_MAX_PORT = 61999;

function config(dir) {
  return `realm: e2e.local
workers: 2
state_dir: ${dir}
admin: {socket: ${dir}/admin.sock}
listen:
  - {transport: udp, address: "127.0.0.1", port: 0}
  - {transport: tcp, address: "127.0.0.1", port: 0}
  - {transport: tls, address: "127.0.0.1", port: 0}
metrics: {listen: "127.0.0.1:0"}
signaling: {listen: "127.0.0.1:0"}
auth: {secrets: [e2e-secret]}
relay: {address: 127.0.0.1, min_port: ${RELAY_MIN_PORT}, max_port: ${RELAY_MAX_PORT}}
`;
}

// Options (all optional): config(dir) -> YAML text; spawn(binary, args) -> ChildProcess (e.g. in
// a network namespace); need: the listener kinds the banner must name.
async function startTern(options = {}) {
  const binary = process.env.TERN_BINARY;
  if (!binary) throw new Error("set TERN_BINARY to the tern executable");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tern-e2e-"));
  const configPath = path.join(dir, "tern.yaml");
  fs.writeFileSync(configPath, (options.config || config)(dir));
  const args = ["serve", "--config", configPath];
  const proc = options.spawn ? options.spawn(binary, args)
                             : spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = [];
  const listeners = {};
  let exited = null;
  const exit = new Promise((resolve) => proc.on("exit", (code, signal) => { exited = code ?? signal; resolve(exited); }));

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("tern did not start in 20 s:\n" + output.join(""))), 20000);
    const onLine = (line) => {
      output.push(line + "\n");
      const m = /^\s+listening (\w+) \[?([0-9a-f.:]+?)\]?:(\d+)$/.exec(line);
      if (m && !listeners[m[1]]) listeners[m[1]] = { host: m[2], port: Number(m[3]) };
      if (line.startsWith("Stop with")) { clearTimeout(timer); resolve(); }
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      let buffer = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf("\n")) >= 0) { onLine(buffer.slice(0, i)); buffer = buffer.slice(i + 1); }
      });
    }
    exit.then((code) => { clearTimeout(timer); reject(new Error(`tern exited (${code}) at startup:\n` + output.join(""))); });
  });
  await ready;
  for (const kind of options.need || ["udp", "tcp", "tls", "metrics", "signaling"]) {
    if (!listeners[kind]) {
      proc.kill("SIGKILL");
      throw new Error(`tern's banner names no ${kind} listener:\n` + output.join(""));
    }
  }

  return {
    dir, output, listeners,
    addr: (kind) => `${listeners[kind].host}:${listeners[kind].port}`,
    url: (kind, p = "/") => `http://${listeners[kind].host}:${listeners[kind].port}${p}`,
    alive: () => exited === null,
    async stop() {
      if (exited === null) {
        proc.kill("SIGINT");  // SIGTERM would drain
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
        await exit;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };
}

// GET with a bounded time; resolves {status, headers, body}.
function httpGet(url, headers = {}, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout: GET " + url)));
    req.on("error", reject);
  });
}

// Sums the samples of one metric whose labels include all of `labels`.
function metricSum(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] || "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

module.exports = { startTern, httpGet, metricSum, RELAY_MIN_PORT, RELAY_MAX_PORT };
