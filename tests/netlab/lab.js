// A network lab of Linux namespaces: an "internet" bridge, NAT routers (nftables), hosts behind
// them. Everything is named with one prefix and removed by destroy(), on exit and on signals,
// and stale labs of dead processes are swept at start.
"use strict";
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");

const PREFIX_ROOT = "tl";  // every namespace is tl<pid>-<name>

function sh(cmd, args, opts = {}) {
  const stdin = opts.input === undefined ? "ignore" : "pipe";
  return execFileSync(cmd, args, { encoding: "utf8", stdio: [stdin, "pipe", "pipe"], ...opts });
}

function canRun() {
  if (process.getuid && process.getuid() !== 0) return "not root: network namespaces need root";
  for (const tool of ["ip", "nft"]) {
    try { sh("sh", ["-c", `command -v ${tool}`]); } catch { return `${tool} not installed (Debian iproute2, nftables)`; }
  }
  return null;
}

function listNamespaces() {
  try {
    return sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
  } catch { return []; }
}

// Removes labs left by processes that died without cleaning up.
function sweepStale() {
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${PREFIX_ROOT}(\\d+)-`).exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (!alive || pid === process.pid) {
      try { sh("ip", ["netns", "del", ns]); } catch { /* already gone */ }
    }
  }
}

class Lab {
  constructor() {
    this.prefix = `${PREFIX_ROOT}${process.pid}-`;
    this.namespaces = [];
    this.processes = [];
    this.links = 0;
    const cleanup = () => this.destroy();
    process.on("exit", cleanup);
    for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => { cleanup(); process.exit(130); });
  }

  ns(name) { return this.prefix + name; }

  // Runs a command in namespace `name`; returns stdout; throws with stderr on failure.
  exec(name, cmd, args = [], opts = {}) {
    try {
      return sh("ip", ["netns", "exec", this.ns(name), cmd, ...args], opts);
    } catch (e) {
      throw new Error(`[${name}] ${cmd} ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
    }
  }

  // Starts a long-running process in namespace `name`; it is killed by destroy().
  spawn(name, cmd, args = [], opts = {}) {
    const p = spawn("ip", ["netns", "exec", this.ns(name), cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], ...opts });
    this.processes.push(p);
    return p;
  }

  addNamespace(name) {
    const ns = this.ns(name);
    sh("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    this.exec(name, "ip", ["link", "set", "lo", "up"]);
    this.sysctl(name, "net/ipv6/conf/all/disable_ipv6", 0);
  }

  // A veth pair between namespaces a and b; returns the two interface names.
  link(a, b) {
    const n = ++this.links;
    const ia = `v${n}a`, ib = `v${n}b`;
    sh("ip", ["link", "add", ia, "netns", this.ns(a), "type", "veth", "peer", "name", ib, "netns", this.ns(b)]);
    this.exec(a, "ip", ["link", "set", ia, "up"]);
    this.exec(b, "ip", ["link", "set", ib, "up"]);
    return [ia, ib];
  }

  addr(name, iface, cidr) {
    this.exec(name, "ip", ["addr", "add", cidr, "dev", iface, ...(cidr.includes(":") ? ["nodad"] : [])]);
  }

  route(name, dest, via) {
    this.exec(name, "ip", [...(via.includes(":") ? ["-6"] : []), "route", "add", dest, "via", via]);
  }

  forwarding(name) {
    this.sysctl(name, "net/ipv4/ip_forward", 1);
    this.sysctl(name, "net/ipv6/conf/all/forwarding", 1);
  }

  // Writes /proc/sys/KEY inside the namespace (no dependency on procps' sysctl).
  sysctl(name, key, value) {
    this.exec(name, "sh", ["-c", `echo ${value} > /proc/sys/${key}`]);
  }

  nft(name, ruleset) {
    this.exec(name, "nft", ["-f", "-"], { input: ruleset });
  }

  destroy() {
    for (const p of this.processes) {
      try { p.kill("SIGKILL"); } catch { /* gone */ }
    }
    this.processes = [];
    for (const ns of this.namespaces.reverse()) {
      try { sh("ip", ["netns", "del", ns]); } catch { /* gone */ }
    }
    this.namespaces = [];
  }

  leftovers() {
    return listNamespaces().filter((ns) => ns.startsWith(this.prefix));
  }
}

// The internet: a bridge namespace that public hosts plug into, 20.0.0.0/24 (not a range tern's
// default peer policy refuses). attach() gives a host a public address on it.
function internet(lab) {
  lab.addNamespace("inet");
  lab.exec("inet", "ip", ["link", "add", "br0", "type", "bridge"]);
  lab.exec("inet", "ip", ["link", "set", "br0", "up"]);
  return {
    // `ip` on the bridge: an IPv4 address (a /24), an IPv6 one (a /64), or null for none.
    attach(name, ip) {
      const [inside, bridgeSide] = lab.link(name, "inet");
      lab.exec("inet", "ip", ["link", "set", bridgeSide, "master", "br0"]);
      if (ip) lab.addr(name, inside, ip.includes(":") ? `${ip}/64` : `${ip}/24`);
      return inside;
    },
  };
}

// A client behind its own router doing symmetric NAT: masquerade fully-random (a new mapped
// port for each new destination) and a stateful filter that drops unsolicited inbound.
function natClient(lab, net, name, publicIp, lanNet) {
  const router = `${name}-nat`;
  lab.addNamespace(router);
  lab.addNamespace(name);
  const wan = net.attach(router, publicIp);
  const [lan, hostIf] = lab.link(router, name);
  lab.addr(router, lan, `${lanNet}.1/24`);
  lab.addr(name, hostIf, `${lanNet}.2/24`);
  lab.route(name, "default", `${lanNet}.1`);
  lab.forwarding(router);
  lab.nft(router, `
table inet lab {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lan}" oifname "${wan}" accept
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "${lan}" accept
  }
}
table ip natlab {
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "${wan}" masquerade fully-random
  }
}
`);
  return { name, router, publicIp, privateIp: `${lanNet}.2` };
}

// A host behind a cloud-style 1:1 NAT: private address inside, one public address outside that
// maps to it in both directions, hairpinned (the host reaching its own public address comes
// back to it from that address, as cloud NATs do).
function oneToOneHost(lab, net, name, publicIp, privateNet) {
  const router = `${name}-gw`;
  lab.addNamespace(router);
  lab.addNamespace(name);
  const wan = net.attach(router, publicIp);
  const [lan, hostIf] = lab.link(router, name);
  const privateIp = `${privateNet}.2`;
  lab.addr(router, lan, `${privateNet}.1/24`);
  lab.addr(name, hostIf, `${privateIp}/24`);
  lab.route(name, "default", `${privateNet}.1`);
  lab.forwarding(router);
  lab.nft(router, `
table ip natlab {
  chain prerouting {
    type nat hook prerouting priority -100;
    ip daddr ${publicIp} dnat to ${privateIp}
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "${wan}" ip saddr ${privateIp} snat to ${publicIp}
    oifname "${lan}" ip saddr ${privateIp} ip daddr ${privateIp} snat to ${publicIp}
  }
}
`);
  return { name, router, publicIp, privateIp };
}

module.exports = { Lab, canRun, sweepStale, internet, natClient, oneToOneHost };
