// deploy/kubernetes rendered by `kubectl kustomize` (each overlay), every object validated
// against the Kubernetes schemas (npm kubernetes-models), and the pod checked against the
// tern.yaml in its ConfigMap: check-config passes, the probes, preStop drain, mounts and ports
// name what that config serves; as root, the real binary runs on that config in a network
// namespace of its own and answers the probes and the preStop drain.
//   TERN_BINARY=$PWD/build/release/server/app/tern node tests/kubernetes/manifests.test.js
"use strict";
const { describe, it, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync, spawn, spawnSync } = require("node:child_process");

const MODULES = path.join(__dirname, "..", "e2e", "node_modules");
const YAML = require(path.join(MODULES, "yaml"));
const DEPLOY = path.join(__dirname, "..", "..", "deploy", "kubernetes");
const TERN = process.env.TERN_BINARY;
const PUBLIC_IP = "203.0.113.10";
// The user scripts/container.sh makes the image run as (buildah config --user UID:GID).
const IMAGE_USER = Number(/--user (\d+):/.exec(fs.readFileSync(
  path.join(__dirname, "..", "..", "scripts", "container.sh"), "utf8"))[1]);
const DRAIN_DEADLINE_S = 600;  // what SIGTERM gives a drain (docs/operations.md)
const temps = [];

function render(overlay) {
  const r = spawnSync("kubectl", ["kustomize", path.join(DEPLOY, overlay)], { encoding: "utf8" });
  if (r.error) throw new Error(`kubectl: ${r.error.message} (scripts/setup.sh --test installs it)`);
  assert.equal(r.status, 0, `kubectl kustomize ${overlay}: ${r.stderr}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
}

// The kubernetes-models class of an object: kubernetes-models/<group>/<version>/<Kind>.
function validate(obj) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
  const module = path.join(MODULES, "kubernetes-models", ...(group ? [group] : []), version, obj.kind);
  const Model = require(module)[obj.kind];
  new Model(obj).validate();  // throws with the JSON path of what is wrong
}

function tempDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tern-k8s-"));
  temps.push(d);
  return d;
}

// The pod's files where the test can make them: every mount point named in tern.yaml is
// mapped to a directory of its own, the Secret's key written with a REST secret.
function podFiles(text, mounts) {
  const root = tempDir();
  let mapped = text;
  for (const m of mounts) {
    const dir = path.join(root, m.name);
    fs.mkdirSync(dir, { recursive: true });
    mapped = mapped.split(`${m.mountPath}/`).join(`${dir}/`).split(`${m.mountPath} `).join(`${dir} `);
  }
  fs.writeFileSync(path.join(root, "secrets", "turn-secrets"), "k8s-test-secret\n");
  const file = path.join(root, "config", "tern.yaml");
  fs.writeFileSync(file, mapped);
  return { root, file, mapped };
}

function terns(env, args) {
  return spawnSync(TERN, args, { encoding: "utf8", env: { ...process.env, ...env } });
}

for (const overlay of ["daemonset", "loadbalancer"]) {
  describe(`deploy/kubernetes/${overlay}`, () => {
    const objects = render(overlay);
    const byKind = (kind) => objects.filter((o) => o.kind === kind);
    const workload = byKind(overlay === "daemonset" ? "DaemonSet" : "Deployment")[0];
    const pod = workload && workload.spec.template.spec;
    const container = pod && pod.containers.find((c) => c.name === "tern");
    const configMap = byKind("ConfigMap").find((c) => c.metadata.name === "tern-config");
    const text = configMap && configMap.data["tern.yaml"];
    const config = text && YAML.parse(text);
    const envOf = (name) => container.env.find((e) => e.name === name);
    const publicEnv = () => ({ [config.relay.public_address_env]: PUBLIC_IP });

    it("renders a workload, its ConfigMap and a PodDisruptionBudget in namespace tern", () => {
      assert.ok(container, `no tern container: ${objects.map((o) => o.kind).join(", ")}`);
      assert.ok(text, "no tern.yaml in ConfigMap tern-config");
      assert.equal(byKind("PodDisruptionBudget").length, 1);
      for (const o of objects) assert.equal(o.metadata.namespace, "tern", `${o.kind} ${o.metadata.name}`);
      const pdb = byKind("PodDisruptionBudget")[0];
      assert.deepEqual(pdb.spec.selector.matchLabels, workload.spec.selector.matchLabels);
      assert.deepEqual(workload.spec.selector.matchLabels,
                       Object.fromEntries(Object.keys(workload.spec.selector.matchLabels)
                         .map((k) => [k, workload.spec.template.metadata.labels[k]])));
    });

    it("every object validates against the Kubernetes schemas", () => {
      for (const o of objects) assert.doesNotThrow(() => validate(o), `${o.kind} ${o.metadata.name}`);
      // The validator is live: a wrong type is refused.
      const broken = structuredClone(workload);
      broken.spec.template.spec.containers[0].ports[0].containerPort = "3478";
      assert.throws(() => validate(broken), /containerPort/);
    });

    it("tern check-config accepts the ConfigMap's tern.yaml as the pod sees it", () => {
      const files = podFiles(text, container.volumeMounts);
      const r = terns(publicEnv(), ["check-config", files.file]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const unset = terns({ [config.relay.public_address_env]: "" }, ["check-config", files.file]);
      assert.notEqual(unset.status, 0, "check-config without the public address env must fail");
    });

    it("the pod's command, mounts, env and ports are the ones tern.yaml names", () => {
      const mountOf = (file) => container.volumeMounts.find((m) => path.dirname(file) === m.mountPath);
      const volumeOf = (m) => pod.volumes.find((v) => v.name === m.name);
      const configPath = container.args[container.args.indexOf("--config") + 1];
      assert.deepEqual(container.args.slice(0, 1), ["serve"]);
      const cfgMount = mountOf(configPath);
      assert.ok(cfgMount, `nothing mounted at ${path.dirname(configPath)}`);
      assert.equal(volumeOf(cfgMount).configMap.name, "tern-config");
      assert.ok(path.basename(configPath) in configMap.data);
      const secretMount = mountOf(config.auth.secrets_file);
      assert.ok(secretMount && volumeOf(secretMount).secret, `${config.auth.secrets_file}: not in a Secret volume`);
      assert.ok(!secretMount.subPath, "a subPath mount never sees a rotated Secret");
      for (const dir of [path.dirname(config.admin.socket), config.state_dir]) {
        const m = container.volumeMounts.find((x) => x.mountPath === dir);
        assert.ok(m && volumeOf(m).emptyDir && !m.readOnly, `${dir} must be a writable emptyDir (read-only root)`);
      }
      assert.ok(envOf(config.relay.public_address_env), `no env ${config.relay.public_address_env}`);
      const ports = container.ports.map((p) => `${p.protocol}/${p.containerPort}`).sort();
      const wanted = config.listen.map((l) => `${l.transport === "udp" ? "UDP" : "TCP"}/${l.port}`);
      const metricsPort = Number(config.metrics.listen.split(":").pop());
      assert.deepEqual(ports, [...new Set([...wanted, `TCP/${metricsPort}`])].sort());
      const portOf = (probe) => container.ports.find((p) => p.name === probe.httpGet.port).containerPort;
      assert.equal(container.readinessProbe.httpGet.path, "/readyz");
      assert.equal(container.livenessProbe.httpGet.path, "/healthz");
      assert.equal(portOf(container.readinessProbe), metricsPort);
      assert.equal(portOf(container.livenessProbe), metricsPort);
      assert.equal(pod.securityContext.runAsUser, IMAGE_USER);
      const annotations = workload.spec.template.metadata.annotations;
      assert.equal(annotations["prometheus.io/port"], String(metricsPort));
    });

    it("stops by draining, within the grace period, with the least privilege", () => {
      const preStop = container.lifecycle.preStop.exec.command;
      assert.deepEqual(preStop.slice(0, 2), ["/usr/bin/tern", "drain"]);
      assert.equal(preStop[preStop.indexOf("--socket") + 1], config.admin.socket);
      const deadline = Number(preStop[preStop.indexOf("--deadline") + 1].replace(/s$/, ""));
      assert.ok(pod.terminationGracePeriodSeconds >= Math.max(deadline, DRAIN_DEADLINE_S),
                `grace ${pod.terminationGracePeriodSeconds} s < drain ${deadline} s`);
      const sc = container.securityContext;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.deepEqual(sc.capabilities, { drop: ["ALL"], add: ["NET_BIND_SERVICE"] });
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
    });

    if (overlay === "daemonset") {
      it("uses the node's network and its address", () => {
        assert.equal(pod.hostNetwork, true);
        assert.equal(envOf(config.relay.public_address_env).valueFrom.fieldRef.fieldPath, "status.hostIP");
      });
    } else {
      it("the LoadBalancer Service forwards every listener and every relay port", () => {
        const svc = byKind("Service")[0];
        assert.equal(svc.spec.type, "LoadBalancer");
        assert.equal(svc.spec.externalTrafficPolicy, "Local", "TURN needs the clients' own addresses");
        const have = new Set(svc.spec.ports.map((p) => `${p.protocol}/${p.port}/${p.targetPort}`));
        for (const l of config.listen) {
          const key = `${l.transport === "udp" ? "UDP" : "TCP"}/${l.port}/${l.port}`;
          assert.ok(have.has(key), `the Service does not forward ${key}`);
        }
        for (let p = config.relay.min_port; p <= config.relay.max_port; p++) {
          assert.ok(have.has(`UDP/${p}/${p}`), `relay port ${p} is not in the Service`);
        }
        const ref = envOf(config.relay.public_address_env).valueFrom.configMapKeyRef;
        const source = byKind("ConfigMap").find((c) => c.metadata.name === ref.name);
        assert.ok(source && /^\d+\.\d+\.\d+\.\d+$/.test(source.data[ref.key]), JSON.stringify(ref));
      });
    }

    it("as root: tern runs on it in a namespace of its own, answers the probes, and preStop drains", {
      skip: process.getuid() !== 0 ? "needs root for a network namespace" : false, timeout: 30000,
    }, async () => {
      const files = podFiles(text, container.volumeMounts);
      const proc = spawn("unshare", ["--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                                     TERN, "serve", "--config", files.file],
                         { env: { ...process.env, ...publicEnv() }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      proc.stdout.on("data", (d) => { out += d; });
      proc.stderr.on("data", (d) => { out += d; });
      const exited = new Promise((r) => proc.on("exit", r));
      let holder = null;
      try {
        const metricsPort = Number(config.metrics.listen.split(":").pop());
        const inPod = (...args) => spawnSync("nsenter", ["-t", String(proc.pid), "-n", ...args], { encoding: "utf8" });
        const get = (p) => {
          const r = inPod("python3", "-c", `import urllib.request as u, urllib.error as e
try: print(u.urlopen("http://127.0.0.1:${metricsPort}${p}", timeout=3).status)
except e.HTTPError as x: print(x.code)
except Exception as x: print(0)`);
          return Number(r.stdout.trim());
        };
        const until = Date.now() + 15000;
        while (!out.includes("Stop with") && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        while (get(container.readinessProbe.httpGet.path) !== 200 && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(get(container.readinessProbe.httpGet.path), 200, out);
        assert.equal(get(container.livenessProbe.httpGet.path), 200, out);
        assert.ok(out.includes(`advertised as ${PUBLIC_IP}\n`), `relays not advertised at $${config.relay.public_address_env}:\n${out}`);
        // preStop, with the admin socket where this test mounted /run/tern.
        const socket = YAML.parse(files.mapped).admin.socket;
        // A live call, so the drain holds tern up (with none it exits within a second).
        const minted = JSON.parse(spawnSync(TERN, ["credentials", "--socket", socket, "--user", "held", "--json"],
                                            { encoding: "utf8" }).stdout);
        holder = spawn("nsenter", ["-t", String(proc.pid), "-n", "python3", "-c", `import sys, time
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, "..", "integration"))})
import turn_client as tc
c = tc.TurnClient(("127.0.0.1", ${config.listen[0].port}), ${JSON.stringify(minted.username)}, ${JSON.stringify(minted.credential)})
print(hex(c.allocate()[0] or 0), flush=True)
time.sleep(60)`], { stdio: ["ignore", "pipe", "inherit"] });
        let held = "";
        holder.stdout.on("data", (d) => { held += d; });
        const heldBy = Date.now() + 10000;
        while (!held.includes("\n") && Date.now() < heldBy) await new Promise((r) => setTimeout(r, 100));
        assert.equal(held.trim(), "0x103", "an allocation in the pod before the drain");
        const cmd = container.lifecycle.preStop.exec.command.slice(1).map((a) => (a === config.admin.socket ? socket : a));
        const drained = spawnSync(TERN, cmd, { encoding: "utf8" });
        assert.equal(drained.status, 0, drained.stdout + drained.stderr);
        assert.equal(get(container.readinessProbe.httpGet.path), 503, "not ready once preStop drained");
        assert.equal(get(container.livenessProbe.httpGet.path), 200, "still live while draining");
      } finally {
        if (holder) holder.kill("SIGKILL");
        proc.kill("SIGINT");
        await exited;
      }
    });
  });
}

after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});
