#!/usr/bin/env bash
# Runs tern, coturn and a raw UDP forwarder side by side on loopback through the same load shapes,
# in alternating rounds, each server pinned to the same CPU, and prints tern/coturn and
# tern/forwarder ratios (JSON and a Markdown table, medians over rounds). Method and latest
# results: docs/performance.md. Uses the release build; builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  cat <<'EOF'
usage: bench/side_by_side.sh [--smoke] [--rounds R] [--duration S] [--out DIR] [--shapes LIST]
                             [--targets LIST] [--callgrind]
  --smoke        every shape once, ~1 s each, small N (for CI: fails only when a run
                 produced no numbers, never on a ratio)
  --rounds R     alternating rounds (default 3); medians are taken over rounds
  --duration S   seconds per timed phase (default 5; smoke 1)
  --out DIR      keep results.jsonl, summary.json, summary.md and logs here
                 (default: a new directory under /tmp)
  --shapes LIST  comma-separated subset of: audio,audiodef,high120,high1200,tcp120,tls120,load50k,load100k,
                 allocate,alloc64def,alloc256def,binding,idle1k,idle10k,idletcp1k,scale
                 (or "none"). scale holds as many allocations with a channel as the
                 descriptor limit allows (100,000 wanted; tern on several relay addresses),
                 1 % of them active at audio rates, then Allocate dances while they are held. Shapes ending in "def" run both servers on their default
                 limits and thread counts, unpinned, as an operator starts them.
  --targets LIST comma-separated subset of: tern,ternmux,coturn,coturn417,coturn417best,forwarder,
                 forwarder1way
                 forwarder = tern_forwarder --pairs: a relay without TURN (client k's datagrams to
                 echo peer k from one relay socket and back), with tern's batching, GSO and
                 wake-up policy, on the audio and high-load shapes; forwarder1way = the same
                 tool sending everything one way to one sink (high load only)
                 ternmux = tern with relay.multiplex_port (one relay socket per worker; at
                 the scale shape it holds 100,000 allocations from several tern_bench processes)
                 coturn = Debian's coturn 4.6.1 (or $TURNSERVER); coturn417 = coturn 4.17.1 on
                 its defaults and coturn417best = with --multiplex-peer --udp-gso, both built
                 once by bench/build_coturn.sh (COTURN_SRC) into a cache; with them in the run,
                 audiodef uses 4.17.1's turnutils_uclient and turnutils_peer for every target
  --callgrind    also count user-space instructions per relayed packet (120 B, closed loop)
                 for each target under valgrind --tool=callgrind: exact and repeatable when
                 timings are too noisy (kernel time is not counted)
  --tern-steering MODE  tern's steering.mode (pack, the default, or hash) in every shape
  --tern-workers N      tern's workers in every shape (default: 1, pinned shapes; 0 in "def" ones)
  --no-pin       pin neither the servers nor the generator (multi-core runs: all share all CPUs)
Environment: TERN_BIN, TERN_BENCH_BIN, TERN_FORWARDER_BIN (default: build/release/...),
  TURNSERVER (default: turnserver), COTURN_RELAY_THREADS (default 1).
EOF
}

smoke=0
callgrind=0
rounds=3
duration=""
out=""
shapes="audio,audiodef,high120,high1200,tcp120,tls120,load50k,load100k,allocate,alloc64def,alloc256def,binding,idle1k,idle10k,idletcp1k,scale"
targets="tern,ternmux,coturn,forwarder"
tern_steering="" tern_workers="" no_pin=0
while (($#)); do
  case "$1" in
    --smoke) smoke=1 ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --out) out=$2; shift ;;
    --shapes) shapes=$2; shift ;;
    --targets) targets=$2; shift ;;
    --callgrind) callgrind=1 ;;
    --tern-steering) tern_steering=$2; shift ;;
    --tern-workers) tern_workers=$2; shift ;;
    --no-pin) no_pin=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
if ((smoke)); then
  rounds=1
  duration=${duration:-1}
else
  duration=${duration:-5}
fi

tern_bin=${TERN_BIN:-$root/build/release/server/app/tern}
bench_bin=${TERN_BENCH_BIN:-$root/build/release/bench/tern_bench}
forwarder_bin=${TERN_FORWARDER_BIN:-$root/build/release/bench/tern_forwarder}
turnserver_bin=${TURNSERVER:-turnserver}
coturn_threads=${COTURN_RELAY_THREADS:-1}

for b in "$tern_bin" "$bench_bin" "$forwarder_bin"; do
  if [[ ! -x $b ]]; then
    echo "side_by_side: $b is missing; build first: cmake --preset release && cmake --build --preset release" >&2
    exit 2
  fi
done
has_target() { [[ ",$targets," == *",$1,"* ]]; }
if has_target coturn && ! command -v "$turnserver_bin" >/dev/null; then
  echo "side_by_side: turnserver (Debian package coturn) is not installed; scripts/setup.sh --test" >&2
  exit 2
fi
# coturn 4.17.1 (built from upstream once, cached) and the uclient that goes with it.
coturn417_prefix="" uclient_bin=turnutils_uclient uclient_peer_bin=turnutils_peer
if has_target coturn417 || has_target coturn417best; then
  coturn417_prefix=$("$root/bench/build_coturn.sh") || {
    echo "side_by_side: coturn 4.17.1 is not built (bench/build_coturn.sh); leave coturn417* out" >&2
    exit 2
  }
  uclient_bin=$coturn417_prefix/bin/turnutils_uclient
  uclient_peer_bin=$coturn417_prefix/bin/turnutils_peer
fi

tmp=$(mktemp -d /tmp/tern-bench.XXXXXX)
keep=1  # a smoke run without --out leaves nothing behind
if [[ -z $out ]] && ((smoke)); then keep=0; fi
out=${out:-$tmp/out}
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
server_pid=""

stop_server() {
  local pid=$1 signal=$2
  [[ -n $pid ]] || return 0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 40); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# The scale shape's helper tern_bench processes (scale_shards): killed, and reaped quietly.
stop_holders() {
  for pid in "${holder_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  holder_pids=()
}
cleanup() {
  if [[ -n $server_pid ]]; then stop_server "$server_pid" KILL; fi
  if [[ -n ${peer_pid:-} ]]; then stop_server "$peer_pid" KILL; fi
  stop_holders
  rm -rf "$tmp/state" "$tmp"/*.sock
  if ((!keep)) || [[ $out != "$tmp"/* ]]; then rm -rf "$tmp"; fi
}
holder_pids=()  # scale helpers (scale_shards)
trap cleanup EXIT

# File descriptors: N allocations need N client sockets here and N relay sockets there. The
# scale shape holds 100,000 where the hard limit allows, else as many as it does (the limit
# is per process; 400 are kept for everything else).
ulimit -Hn 300000 2>/dev/null || true  # needs CAP_SYS_RESOURCE
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_hard=$(ulimit -Hn)
[[ $fd_hard == unlimited ]] && fd_hard=1048576
scale_n=$(((fd_hard - 400) / 100 * 100))
((scale_n > 100000)) && scale_n=100000
((smoke)) && scale_n=2000
# ternmux (no descriptor per allocation) holds 100,000 at the scale shape whatever the limit:
# tern_bench processes of at most shard_n clients each (1,000 echo peers apiece), all but the
# last only holding theirs while the last one measures.
mux_scale_n=100000 shard_n=$(((fd_hard - 1600) / 100 * 100)) scale_peers=1000
((smoke)) && mux_scale_n=2000 shard_n=1000 scale_peers=20

# Pin every server (tern, coturn, forwarder) to the same CPU and the load generator to another,
# so "per CPU-second" means the same thing for all three.
# taskset execs the program, so $! is the server's own pid (a shell function here would put a
# subshell in between, and /proc would measure the subshell).
server_cpu="" gen_cpu="" on_server_cpu=() on_gen_cpu=()
if command -v taskset >/dev/null && (($(nproc) >= 2)) && ((!no_pin)); then
  server_cpu=$(($(nproc) - 1))
  gen_cpu=0
  on_server_cpu=(taskset -c "$server_cpu")
  on_gen_cpu=(taskset -c "$gen_cpu")
fi

# Free UDP ports on 127.0.0.1 (and one on the peer address 127.0.0.2) for the listeners.
read -r tern_port coturn_port fwd_port sink_port uclient_peer_port tern_tls_port coturn_tls_port < <(python3 - <<'EOF'
import socket
socks = []
for ip in ("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    socks.append(s)
for _ in range(2):  # TLS listeners (TCP)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
# coturn needs a certificate for TLS; tern makes its own self-signed one in state_dir.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=bench.local -keyout "$tmp/coturn.key" -out "$tmp/coturn.crt" 2>/dev/null
# Relay port ranges: disjoint from each other and (on a default Linux) from the ephemeral range
# 32768-60999 that client sockets draw from.
coturn_min=10000 coturn_max=21999 tern_min=22000 tern_max=32767
tern_mux_port=9000  # ternmux: 9000, 9002, ... (one per worker), below both ranges
# forwarder: its echo peers on 127.0.0.2, ports 61000 and up, above the ephemeral range that
# every other socket of the run draws from.
fwd_peer_base=61000 fwd_pairs=128

cat >"$tmp/tern.yaml" <<EOF
realm: bench.local
workers: 1
state_dir: $tmp/state
listen:
  - {transport: udp, address: "127.0.0.1", port: $tern_port}
  - {transport: tcp, address: "127.0.0.1", port: $tern_port}
  - {transport: tls, address: "127.0.0.1", port: $tern_tls_port}
relay:
  address: "127.0.0.1"
  min_port: $tern_min
  max_port: $tern_max
  rfc5766_channels: true  # coturn 4.6.1's turnutils_uclient picks channels up to 0x7FFF
auth:
  users: [{name: bench, password: bench}]
limits:
  allocations_per_user: 100000
  unauthenticated_replies_per_second: 0
peers:
  allow: ["127.0.0.2/32"]
metrics: {listen: ""}
admin: {socket: $tmp/admin.sock}
log: {level: info}
EOF
cat >"$tmp/coturn.conf" <<EOF
listening-ip=127.0.0.1
listening-port=$coturn_port
relay-ip=127.0.0.1
min-port=$coturn_min
max-port=$coturn_max
relay-threads=$coturn_threads
lt-cred-mech
user=bench:bench
realm=bench.local
total-quota=0
user-quota=0
tls-listening-port=$coturn_tls_port
cert=$tmp/coturn.crt
pkey=$tmp/coturn.key
no-dtls
no-tcp-relay
allow-loopback-peers
no-cli
log-file=$tmp/coturn.log
simple-log
pidfile=$tmp/coturn.pid
userdb=$tmp/turndb
EOF

# The "...def" shapes run both servers as an operator starts them: tern on its default limits
# and worker count, coturn on its default thread count, neither pinned to a CPU.
grep -v -e '^workers:' -e '^limits:' -e '^  allocations_per_user:' -e '^  unauthenticated_replies_per_second:' \
  "$tmp/tern.yaml" >"$tmp/tern-defaults.yaml"
grep -v '^relay-threads=' "$tmp/coturn.conf" >"$tmp/coturn-defaults.conf"
if [[ -n $tern_workers ]]; then
  sed -i "s/^workers: 1$/workers: $tern_workers/" "$tmp/tern.yaml"
  echo "workers: $tern_workers" >>"$tmp/tern-defaults.yaml"
fi
if [[ -n $tern_steering ]]; then
  for f in "$tmp/tern.yaml" "$tmp/tern-defaults.yaml"; do
    echo "steering: {mode: $tern_steering}" >>"$f"
  done
fi
# The scale shape: more relay addresses, enough for scale_n allocations with one port range
# each (tern 127.3.0.x, coturn 127.4.0.x; loopback answers for all of 127/8), and the
# client sockets spread over 127.1.0.x (tern_bench --clients-per-ip).
scale_ips=$(((scale_n + 9999) / 10000))
{
  sed -e "s/^  address: \"127.0.0.1\"$/&\n  extra_addresses: [$(seq -s, -f '"127.3.0.%g"' 1 "$scale_ips")]/" \
    -e 's/^limits:$/&\n  allocations_per_source_ip: 0/' -e 's/^  allocations_per_user: 100000$/  allocations_per_user: 200000/' "$tmp/tern.yaml"
} >"$tmp/tern-scale.yaml"
{
  cat "$tmp/coturn.conf"
  for i in $(seq 1 "$scale_ips"); do echo "relay-ip=127.4.0.$i"; done
} >"$tmp/coturn-scale.conf"
# ternmux: tern with relay.multiplex_port (one shared relay socket per worker), on each config.
for f in tern tern-defaults tern-scale; do
  sed -e '/^  extra_addresses:/d' -e "s/^  address: \"127.0.0.1\"$/&\n  multiplex_port: $tern_mux_port/" \
    "$tmp/$f.yaml" >"$tmp/$f-mux.yaml"
done
is_default_shape() { [[ $1 == *def ]]; }

port_open() { grep -qi ":$(printf '%04X' "$1") " /proc/net/udp; }

# Starts one target in the background (under "${server_wrap[@]}", e.g. valgrind, when set);
# sets server_pid and server_addr.
server_wrap=()
start_wait=100  # x 0.05 s
start_target() {  # target [shape]
  local target=$1 shape=${2:-} port tern_conf=$tmp/tern.yaml coturn_conf=$tmp/coturn.conf
  local pin=("${on_server_cpu[@]}")
  if is_default_shape "$shape"; then
    tern_conf=$tmp/tern-defaults.yaml coturn_conf=$tmp/coturn-defaults.conf pin=()
  elif [[ $shape == scale ]]; then
    tern_conf=$tmp/tern-scale.yaml coturn_conf=$tmp/coturn-scale.conf
  fi
  for port in "$tern_port" "$coturn_port" "$fwd_port"; do
    if port_open "$port"; then  # SO_REUSEPORT would let a second server share it silently
      echo "side_by_side: UDP port $port is still bound (a previous server still running?)" >&2
      return 1
    fi
  done
  case "$target" in
    tern | ternmux)
      port=$tern_port
      [[ $target == ternmux ]] && tern_conf=${tern_conf%.yaml}-mux.yaml
      "${pin[@]}" "${server_wrap[@]}" "$tern_bin" serve --config "$tern_conf" >>"$out/$target.log" 2>&1 &
      ;;
    coturn)
      port=$coturn_port
      "${pin[@]}" "${server_wrap[@]}" "$turnserver_bin" -c "$coturn_conf" --no-stdout-log >>"$out/coturn.out" 2>&1 &
      ;;
    coturn417 | coturn417best)
      port=$coturn_port
      local best=()
      [[ $target == coturn417best ]] && best=(--multiplex-peer --udp-gso)
      "${pin[@]}" "${server_wrap[@]}" "$coturn417_prefix/bin/turnserver" -c "$coturn_conf" \
        --no-stdout-log "${best[@]}" >>"$out/$target.out" 2>&1 &
      ;;
    forwarder)
      port=$fwd_port
      "${pin[@]}" "${server_wrap[@]}" "$forwarder_bin" --listen "127.0.0.1:$fwd_port" \
        --to "127.0.0.2:$fwd_peer_base" --pairs "$fwd_pairs" --max-seconds 600 >>"$out/forwarder.log" 2>&1 &
      ;;
    forwarder1way)
      port=$fwd_port
      "${pin[@]}" "${server_wrap[@]}" "$forwarder_bin" --listen "127.0.0.1:$fwd_port" --to "127.0.0.2:$sink_port" \
        --max-seconds 600 >>"$out/forwarder1way.log" 2>&1 &
      ;;
  esac
  server_pid=$!
  server_addr=127.0.0.1:$port
  case "$target" in
    tern*) tls_addr=127.0.0.1:$tern_tls_port ;;
    coturn*) tls_addr=127.0.0.1:$coturn_tls_port ;;
    *) tls_addr="" ;;
  esac
  for _ in $(seq "$start_wait"); do
    port_open "$port" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! port_open "$port" || ! kill -0 "$server_pid" 2>/dev/null; then
    echo "side_by_side: $target did not start (see $out)" >&2
    return 1
  fi
  if [[ $(readlink "/proc/$server_pid/exe" 2>/dev/null) == */bash ]]; then
    echo "side_by_side: internal error: pid $server_pid is a shell, not the server" >&2
    return 1
  fi
  sleep 0.2  # let coturn's auth and relay threads come up
}

stop_target() {
  local target=$1 signal=TERM
  [[ $target == tern* ]] && signal=INT  # SIGTERM would drain tern; SIGINT stops it at once
  stop_server "$server_pid" "$signal"
  server_pid=""
}

# Shapes: name -> tern_bench arguments (full, then smoke). The forwarder runs the high-load
# shapes in raw mode. Each client of a relay shape has its own echo peer (--peers): coturn
# 4.17.1 with --multiplex-peer answers 400 to a second allocation's ChannelBind to a peer
# address another allocation has bound, so with one shared echo peer it relayed for a single
# client while tern relayed for all of them.
shape_args() {
  local shape=$1 d=$duration
  if ((smoke)); then
    case "$shape" in
      audio) echo "--mode relay --clients 20 --peers 20 --rate 1000 --size 120 --duration $d" ;;
      high120) echo "--mode relay --clients 4 --peers 4 --size 120 --window 32 --duration $d" ;;
      high1200) echo "--mode relay --clients 4 --peers 4 --size 1200 --window 32 --duration $d" ;;
      tcp120) echo "--mode relay --transport tcp --clients 4 --peers 4 --size 120 --window 32 --duration $d" ;;
      tls120) echo "--mode relay --transport tls --clients 4 --peers 4 --size 120 --window 32 --duration $d" ;;
      load50k) echo "--mode relay --clients 20 --peers 20 --rate 5000 --size 120 --duration $d" ;;
      load100k) echo "--mode relay --clients 20 --peers 20 --rate 10000 --size 120 --duration $d" ;;
      allocate) echo "--mode allocate --inflight 16 --duration $d" ;;
      alloc64def) echo "--mode allocate --inflight 64 --duration $d" ;;
      alloc256def) echo "--mode allocate --inflight 256 --duration $d" ;;
      binding) echo "--mode binding --clients 2 --window 16 --duration $d" ;;
      idle1k) echo "--mode idle --clients 100" ;;
      idle10k) echo "--mode idle --clients 500" ;;
      idletcp1k) echo "--mode idle --transport tcp --clients 100" ;;
      scale) echo "--mode idle --idle-channel --clients $scale_n --clients-per-ip 20000 --active $((scale_n / 100)) --rate $((scale_n / 2)) --duration $d --hold-allocate $d --inflight 64 --setup-timeout 300" ;;
    esac
    return
  fi
  case "$shape" in
    audio) echo "--mode relay --clients 100 --peers 100 --rate 5000 --size 120 --duration $d" ;;
    high120) echo "--mode relay --clients 8 --peers 8 --size 120 --window 32 --duration $d" ;;
    high1200) echo "--mode relay --clients 8 --peers 8 --size 1200 --window 32 --duration $d" ;;
    tcp120) echo "--mode relay --transport tcp --clients 8 --peers 8 --size 120 --window 32 --duration $d" ;;
    tls120) echo "--mode relay --transport tls --clients 8 --peers 8 --size 120 --window 32 --duration $d" ;;
    load50k) echo "--mode relay --clients 100 --peers 100 --rate 50000 --size 120 --duration $d" ;;
    load100k) echo "--mode relay --clients 100 --peers 100 --rate 100000 --size 120 --duration $d" ;;
    allocate) echo "--mode allocate --inflight 64 --duration $d" ;;
    alloc64def) echo "--mode allocate --inflight 64 --duration $d" ;;
    alloc256def) echo "--mode allocate --inflight 256 --duration $d" ;;
    binding) echo "--mode binding --clients 4 --window 32 --duration $d" ;;
    idle1k) echo "--mode idle --clients 1000 --inflight 64" ;;
    idle10k) echo "--mode idle --clients 10000 --inflight 64" ;;
    idletcp1k) echo "--mode idle --transport tcp --clients 1000 --inflight 64" ;;
    scale) echo "--mode idle --idle-channel --clients $scale_n --clients-per-ip 20000 --active $((scale_n / 100)) --rate $((scale_n / 2)) --duration $d --hold-allocate $d --inflight 64 --setup-timeout 300" ;;
  esac
}

supports() {  # target shape
  # audiodef's clients all send to one turnutils_peer: with one relay socket per worker only
  # the first allocation of each may (relay.multiplex_port), so ternmux cannot run it.
  [[ $1 == ternmux && $2 == audiodef ]] && return 1
  [[ $1 != forwarder* ]] && return 0
  [[ $2 == high120 || $2 == high1200 || ($1 == forwarder && $2 == audio) ]]
}

# audiodef: coturn's own load client (turnutils_uclient, 100 clients x 50 pkt/s x 120 B over
# channels) through turnutils_peer, both servers on their defaults, unpinned.
peer_pid=""
start_uclient_peer() {
  [[ -n $peer_pid ]] && return 0
  if ! command -v "$uclient_bin" >/dev/null || ! command -v "$uclient_peer_bin" >/dev/null; then
    echo "side_by_side: audiodef needs turnutils_uclient and turnutils_peer (Debian package coturn)" >&2
    return 1
  fi
  "$uclient_peer_bin" -L 127.0.0.2 -p "$uclient_peer_port" >/dev/null 2>&1 &
  peer_pid=$!
  sleep 0.2
}
uclient_args() {
  if ((smoke)); then echo "--clients 10 --messages 50"; else echo "--clients 100 --messages $((duration * 50))"; fi
}

failed=0
# The scale shape on ternmux: mux_scale_n allocations from several tern_bench processes. The
# helpers each hold shard_n (--hold) and say so; the last process measures with the rest, as
# the one process of the scale shape does. Its JSON gets the totals: allocations held by all,
# and the server's RSS growth from its start per allocation held.
scale_shards() {  # addr round
  local addr=$1 round=$2 shards held=0 k rss0 last rest line
  shards=$(((mux_scale_n + shard_n - 1) / shard_n))
  rest=$((mux_scale_n - (shards - 1) * shard_n))
  rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
  for ((k = 0; k < shards - 1; k++)); do
    : >"$tmp/holder.$k"
    "${on_gen_cpu[@]}" "$bench_bin" --server "$addr" --mode idle --idle-channel --clients "$shard_n" \
      --clients-per-ip 20000 --first-ip "$k" --peers "$scale_peers" --inflight 64 --hold 900 \
      --setup-timeout 300 >/dev/null 2>"$tmp/holder.$k" &
    holder_pids+=($!)
    for _ in $(seq 3000); do  # x 0.1 s
      grep -q '^held ' "$tmp/holder.$k" && break
      kill -0 "${holder_pids[-1]}" 2>/dev/null || break
      sleep 0.1
    done
    last=$(awk '/^held / {print $2}' "$tmp/holder.$k")
    [[ -n $last ]] || { echo "side_by_side: scale helper $k held nothing" >&2; return 1; }
    held=$((held + last))
  done
  line=$("${on_gen_cpu[@]}" timeout 600 "$bench_bin" --server "$addr" --server-pid "$server_pid" \
    --label ternmux --shape scale --round "$round" --mode idle --idle-channel --clients "$rest" \
    --clients-per-ip 20000 --first-ip "$((shards - 1))" --peers "$scale_peers" \
    --active "$((mux_scale_n / 100))" --rate "$((mux_scale_n / 2))" --duration "$duration" \
    --hold-allocate "$duration" --inflight 64 --setup-timeout 300 2>>"$out/bench.err") || return 1
  LINE="$line" HELD="$held" RSS0="$rss0" SHARDS="$shards" python3 -c '
import json, os
d = json.loads(os.environ["LINE"])
held, rss0 = int(os.environ["HELD"]), int(os.environ["RSS0"])
d["last_shard_allocations"] = d.get("allocations")
d["last_shard_rss_bytes_per_allocation"] = d.get("rss_bytes_per_allocation")
d["bench_processes"] = int(os.environ["SHARDS"])
total = held + (d.get("allocations") or 0)
d["allocations"] = total
rss = (d.get("server_rss_kib") or {}).get("refreshed")
d["rss_bytes_per_allocation"] = (rss - rss0) * 1024 / total if rss and total else None
print(json.dumps(d))'
}

run_one() {  # round target shape
  local round=$1 target=$2 shape=$3 args line rc=0
  args=$(shape_args "$shape")
  if [[ $target == forwarder ]]; then  # its echo peers on the ports it pairs clients with
    args="${args/--mode relay/--mode rawecho} --peer-port $fwd_peer_base"
  elif [[ $target == forwarder1way ]]; then
    args="${args/--mode relay/--mode raw} --peer-port $sink_port"
    args=$(sed -E 's/--peers [0-9]+ //' <<<"$args")  # one sink: the forwarder's destination
  fi
  if ! start_target "$target" "$shape"; then
    failed=$((failed + 1))
    echo "{\"target\":\"$target\",\"shape\":\"$shape\",\"round\":$round,\"ok\":false,\"error\":\"server did not start\"}" >>"$results"
    stop_target "$target"
    return
  fi
  local addr=$server_addr
  [[ $args == *"--transport tls"* ]] && addr=$tls_addr
  # shellcheck disable=SC2086  # word splitting of the shape's arguments is intended
  local gen=("${on_gen_cpu[@]}")
  is_default_shape "$shape" && gen=()
  if [[ $shape == audiodef ]]; then
    start_uclient_peer || rc=$?  # here, not in $(...): its pid must reach cleanup()
    # shellcheck disable=SC2046
    line=$( ((rc == 0)) && python3 "$root/bench/uclient_run.py" --server "$addr" \
      --server-pid "$server_pid" --peer "127.0.0.2:$uclient_peer_port" --label "$target" \
      --shape "$shape" --round "$round" --uclient "$uclient_bin" $(uclient_args) 2>>"$out/bench.err") || rc=$?
  elif [[ $shape == scale && $target == ternmux ]]; then
    scale_shards "$addr" "$round" >"$tmp/scale.line" || rc=$?  # not in $(...): the helpers'
    line=$(cat "$tmp/scale.line")                                # pids must reach this shell
  else
    line=$("${gen[@]}" timeout 300 "$bench_bin" --server "$addr" --server-pid "$server_pid" \
      --label "$target" --shape "$shape" --round "$round" $args 2>>"$out/bench.err") || rc=$?
  fi
  stop_target "$target"
  stop_holders
  if [[ -z $line || $line != \{* ]]; then
    line="{\"target\":\"$target\",\"shape\":\"$shape\",\"round\":$round,\"ok\":false,\"error\":\"no output (exit $rc)\"}"
  else
    line="{\"target\":\"$target\",${line:1}"
  fi
  echo "$line" >>"$results"
  if ((rc != 0)); then
    failed=$((failed + 1))
    echo "side_by_side: $target $shape round $round failed: $line" >&2
  fi
  printf '  %-13s %-9s round %s: %s\n' "$target" "$shape" "$round" "$(python3 "$root/bench/compare.py" --brief <<<"$line")" >&2
}

echo "side_by_side: rounds=$rounds duration=${duration}s servers on CPU ${server_cpu:-any}, generator on CPU ${gen_cpu:-any}; output in $out" >&2
shape_list=()
[[ $shapes == none ]] || IFS=, read -r -a shape_list <<<"$shapes"
IFS=, read -r -a target_list <<<"$targets"
for ((round = 1; round <= rounds; round++)); do
  # Alternate the order so neither server always runs first (warm caches, frequency, noise).
  order=("${target_list[@]}")
  if ((round % 2 == 0)); then
    order=()
    for ((i = ${#target_list[@]} - 1; i >= 0; i--)); do order+=("${target_list[i]}"); done
  fi
  for shape in "${shape_list[@]}"; do
    for target in "${order[@]}"; do
      supports "$target" "$shape" || continue
      run_one "$round" "$target" "$shape"
    done
  done
done

# Instructions per relayed packet: each target under callgrind, counters zeroed just before the
# data phase and dumped just after it, so setup and shutdown are not counted.
run_callgrind() {  # target
  local target=$1 file=$out/callgrind.$1.out args line rc=0 ir
  args="--mode relay --clients 8 --window 32 --size 120 --packets 5000 --duration 300"
  if [[ $target == forwarder ]]; then args="--mode rawecho --clients 8 --peers 8 --window 32 --size 120 --packets 5000 --duration 300 --peer-port $fwd_peer_base"; fi
  if [[ $target == forwarder1way ]]; then args="--mode raw --clients 8 --window 32 --size 120 --packets 10000 --duration 300 --peer-port $sink_port"; fi
  server_wrap=(valgrind --tool=callgrind --callgrind-out-file="$file")
  start_wait=600
  if ! start_target "$target"; then
    failed=$((failed + 1))
    server_wrap=() start_wait=100
    stop_target "$target"
    return
  fi
  server_wrap=() start_wait=100
  sleep 1
  # shellcheck disable=SC2086
  line=$("${on_gen_cpu[@]}" timeout 600 "$bench_bin" --server "$server_addr" --label "$target" \
    --shape callgrind120 --before-data "callgrind_control -z $server_pid >/dev/null" \
    --after-data "callgrind_control -d $server_pid >/dev/null" $args 2>>"$out/bench.err") || rc=$?
  stop_target "$target"
  ir=$(awk '/^summary:/ {print $2}' "$file.1" 2>/dev/null || true)
  line=$(LINE="$line" IR="$ir" TARGET="$target" python3 -c '
import json, os
try:
    d = json.loads(os.environ["LINE"])
except ValueError:
    d = {"ok": False, "error": "no output"}
d = {"target": os.environ["TARGET"], **d, "shape": "callgrind120", "round": 1}
ir, n = os.environ["IR"], d.get("relayed_packets") or 0
if ir and n:
    d["instructions"] = int(ir)
    d["instructions_per_packet"] = int(ir) / n
else:
    d["ok"] = False
    d.setdefault("error", "no callgrind dump")
print(json.dumps(d))')
  echo "$line" >>"$results"
  printf '  %-13s %-12s: %s\n' "$target" callgrind120 "$(python3 "$root/bench/compare.py" --brief <<<"$line")" >&2
  if ((rc != 0)); then failed=$((failed + 1)); fi
}
if ((callgrind)); then
  command -v valgrind >/dev/null || { echo "side_by_side: --callgrind needs valgrind" >&2; exit 2; }
  for target in "${target_list[@]}"; do run_callgrind "$target"; done
fi

cp "$tmp/tern.yaml" "$tmp/coturn.conf" "$tmp/tern-defaults.yaml" "$tmp/coturn-defaults.conf" \
  "$tmp/tern-scale.yaml" "$tmp/coturn-scale.conf" "$out/"
note=()
if ((smoke)); then
  note=(--note "Smoke run: small N and 1 s phases; the labels name the full shapes, the numbers do not measure them.")
fi
python3 "$root/bench/compare.py" --check "${note[@]}" --json "$out/summary.json" \
  --markdown "$out/summary.md" "$results" || failed=$((failed + 1))
((keep)) && echo "side_by_side: results in $out" >&2
if ((failed > 0)); then
  echo "side_by_side: failed: a run produced no numbers (see above)" >&2
  exit 1
fi
