#!/usr/bin/env bash
# Checks the container image: under 40 MB, no shell, a non-root user; run by podman (runc) with
# a read-only root, every capability dropped, the config mounted and the REST secret from the
# environment, it answers STUN Binding, relays for coturn's turnutils_uclient without loss,
# logs JSON to stdout and stops cleanly on SIGTERM. Leaves no container or image behind.
# Usage: tests/package/test_container.sh IMAGE   (as root; scripts/container.sh builds IMAGE)
set -euo pipefail
image=${1:?usage: test_container.sh IMAGE}
name=tern-ctest-$$
work=$(mktemp -d /tmp/tern-ctest.XXXXXX)
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  pkill -f "turnutils_peer -L 127.0.0.2 -p $peer_port" 2>/dev/null || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
peer_port=0
trap cleanup EXIT
free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"; }

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "== $image: $size bytes"
((size < 40 * 1024 * 1024)) || { echo "image is over 40 MB" >&2; exit 1; }
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ $user == 10000:10000 ]] || { echo "image user is '$user', not 10000:10000" >&2; exit 1; }
if podman run --rm --runtime runc --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
  echo "the image has a shell" >&2
  exit 1
fi

port=$(free_port 127.0.0.1)
metrics=$(free_port 127.0.0.1)
peer_port=$(free_port 127.0.0.2)
cat >"$work/tern.yaml" <<YAML
realm: container.test
listen:
  - {transport: udp, address: "127.0.0.1", port: $port}
  - {transport: tcp, address: "127.0.0.1", port: $port}
relay: {address: "127.0.0.1", min_port: 47000, max_port: 47999, rfc5766_channels: true}
auth: {secrets_env: TERN_SECRETS}
peers: {allow: [127.0.0.2/32]}
metrics: {listen: "127.0.0.1:$metrics"}
admin: {socket: /tmp/tern-admin.sock}
state_dir: /var/lib/tern
log: {level: info, format: json}
YAML
echo "== run (host network, read-only root, no capabilities)"
podman run -d --name "$name" --runtime runc --network host --read-only --cap-drop all \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  --tmpfs /var/lib/tern:rw,U,mode=0700 \
  -e TERN_SECRETS=container-secret -v "$work/tern.yaml:/etc/tern/tern.yaml:ro" "$image" >/dev/null
for _ in $(seq 50); do
  podman logs "$name" 2>&1 | grep -q '"event":"started"' && break
  sleep 0.2
done
podman logs "$name" 2>&1 | grep -q '^{"time":.*"event":"started"' || {
  podman logs "$name" >&2; echo "no JSON start line on stdout" >&2; exit 1; }

echo "== STUN Binding"
turnutils_stunclient -p "$port" 127.0.0.1 | grep -q "reflexive addr: 127.0.0.1:" || {
  echo "no Binding answer" >&2; exit 1; }

echo "== TURN relay with coturn's turnutils_uclient"
turnutils_peer -L 127.0.0.2 -p "$peer_port" >/dev/null 2>&1 &
sleep 0.3
rest_user="$(($(date +%s) + 600)):container"
rest_pass=$(printf '%s' "$rest_user" | openssl dgst -sha1 -hmac container-secret -binary | base64)
out=$(timeout 60 turnutils_uclient -u "$rest_user" -w "$rest_pass" -p "$port" -n 50 -m 2 -l 120 \
  -e 127.0.0.2 -r "$peer_port" 127.0.0.1 2>&1 || true)
totals=$(grep -Eo 'tot_send_msgs=[0-9]+, tot_recv_msgs=[0-9]+' <<<"$out" | tail -1)
lost=$(grep -Eo 'Total lost packets [0-9]+' <<<"$out" | tail -1)
echo "   $totals; $lost"
[[ $totals == "tot_send_msgs=100, tot_recv_msgs=100" && $lost == "Total lost packets 0" ]] || {
  echo "$out" | tail -20 >&2; echo "relay through the container lost packets" >&2; exit 1; }

echo "== SIGTERM drains (/readyz 503), SIGINT stops"
podman kill --signal TERM "$name" >/dev/null
ready=""
for _ in $(seq 50); do
  ready=$(python3 - "$metrics" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/readyz" % sys.argv[1], timeout=2)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print("down")
PY
)
  [[ $ready == 503 || $ready == down ]] && break
  sleep 0.2
done
[[ $ready == 503 || $ready == down ]] || { echo "/readyz still $ready after SIGTERM" >&2; exit 1; }
podman kill --signal INT "$name" >/dev/null 2>&1 || true
code=$(podman wait "$name")
[[ $code == 0 ]] || { podman logs "$name" | tail -5 >&2; echo "exit code $code" >&2; exit 1; }
echo "== $image: $((size / 1024 / 1024)) MB, relays, stops cleanly"
