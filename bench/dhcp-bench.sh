#!/usr/bin/env bash
# DHCP benchmark (a benchmark script, not a test): Bootgate against dnsmasq in proxy mode as the
# PXE appliance on the same veth link.
#   1. boot storm: bench/dhcp-storm.ts, N simulated PXE clients broadcasting one DISCOVER each within 1 s;
#   2. perfdhcp -i (DISCOVER/OFFER only: a proxy never ACKs) at rising rates;
#   3. one table (bench/dhcp-report.ts), printed and written to bench/results/dhcp-<date>.md.
#
# Network safety: everything runs in two namespaces created here (bgb<pid>c = clients, bgb<pid>a = the
# appliance) joined by one veth pair that never exists in the root namespace; 10.88.0.0/24 only; the
# namespaces (and the veth with them) are removed on exit, whatever happens. Every load is bounded in
# count and time (`timeout` around each step).
#
# Usage: npm run bench:dhcp   (or: npm run build && bash bench/dhcp-bench.sh); needs root.
# Knobs (environment):
#   BENCH_SERVERS="dnsmasq bootgate"   BENCH_RATES="1000 5000 10000 20000 30000 40000"   BENCH_SECONDS=3
#   BENCH_STORM_CLIENTS=1000   BENCH_PERFDHCP_CLIENTS=10000   BENCH_P99_PASS=1 (0 skips the -x t runs)
#   BENCH_REPEAT=2: plain perfdhcp runs per rate and server; the report keeps the best (other work on a
#     shared machine only ever makes a run worse) and shows the others next to it
#   BENCH_WARMUP=1 (0 measures each freshly started server cold: no 1 s, 2,000/s perfdhcp warm-up first)
#   BENCH_CPU_PROF=1 runs Bootgate under node --cpu-prof and prints where its time goes.
#   BENCH_STORE=postgres adds a row `bootgate-pg`: the same Bootgate on the shared PostgreSQL store (a
#     throwaway cluster from test/lab/postgres.ts on a unix socket, removed on exit) instead of SQLite;
#     and a row `bootgate-pg-slow`: the same again through a stand-in in the appliance's namespace
#     (bench/pg-slow-proxy.ts) that holds every answer of the database BENCH_PG_DELAY_MS (2000) from
#     the moment the daemon is ready: the answers must not wait on a slow database.
#   BENCH_PIN=1 (the default where there are 2+ CPUs): perfdhcp and the storm generator run on CPU 0, the
#     server (dnsmasq or Bootgate, with all its threads) on CPU 1, as if each had its own machine. Unpinned
#     (BENCH_PIN=0), a generator that needs more than one CPU (perfdhcp at 25,000/s uses about 1.3: a send
#     loop and a receive thread) and the server preempt each other thousands of times a second (measured:
#     ~40,000 involuntary context switches per 3 s run, dnsmasq and Bootgate alike), and whichever loses a
#     4 ms scheduler slice at the wrong moment drops OFFERs at the generator's queue: run-to-run spread of
#     0.1-1.7% at 25,000/s for either server, which decides a 1% threshold by chance.
set -euo pipefail

cd "$(dirname "$0")/.."
STORE=${BENCH_STORE:-sqlite}
[[ $STORE == sqlite || $STORE == postgres ]] || { echo "dhcp-bench: BENCH_STORE must be sqlite or postgres" >&2; exit 1; }
if [[ $STORE == postgres ]]; then DEFAULT_SERVERS="dnsmasq bootgate bootgate-pg bootgate-pg-slow"; else DEFAULT_SERVERS="dnsmasq bootgate"; fi
SERVERS=${BENCH_SERVERS:-$DEFAULT_SERVERS}
RATES=${BENCH_RATES:-"1000 5000 10000 20000 30000 40000"}
SECS=${BENCH_SECONDS:-3}
STORM_CLIENTS=${BENCH_STORM_CLIENTS:-1000}
PERF_CLIENTS=${BENCH_PERFDHCP_CLIENTS:-10000}
P99_PASS=${BENCH_P99_PASS:-1}
CPU_PROF=${BENCH_CPU_PROF:-0}
WARMUP=${BENCH_WARMUP:-1}
REPEAT=${BENCH_REPEAT:-2}
PIN=${BENCH_PIN:-$(( $(nproc) >= 2 ? 1 : 0 ))}

die() { echo "dhcp-bench: $*" >&2; exit 1; }
is_int() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= $2 && $1 <= $3 )); }

# Bounds: the whole bench must stay a few minutes and a bounded number of packets.
is_int "$SECS" 1 10 || die "BENCH_SECONDS must be 1..10"
is_int "$STORM_CLIENTS" 1 10000 || die "BENCH_STORM_CLIENTS must be 1..10000"
is_int "$REPEAT" 1 5 || die "BENCH_REPEAT must be 1..5"
[[ $PIN == 0 || $PIN == 1 ]] || die "BENCH_PIN must be 0 or 1"
(( PIN == 0 || $(nproc) >= 2 )) || die "BENCH_PIN=1 needs 2 CPUs"
is_int "$PERF_CLIENTS" 1 100000 || die "BENCH_PERFDHCP_CLIENTS must be 1..100000"
for r in $RATES; do is_int "$r" 1 100000 || die "BENCH_RATES: each rate must be 1..100000 (found $r)"; done
(( $(wc -w <<<"$RATES") <= 10 )) || die "BENCH_RATES: at most 10 rates"
PG_DELAY_MS=${BENCH_PG_DELAY_MS:-2000}
is_int "$PG_DELAY_MS" 0 30000 || die "BENCH_PG_DELAY_MS must be 0..30000"
for s in $SERVERS; do [[ $s == dnsmasq || $s == bootgate || $s == bootgate-pg || $s == bootgate-pg-slow ]] || die "BENCH_SERVERS: unknown server $s"; done
[[ $EUID -eq 0 ]] || die "needs root (it creates network namespaces)"
for c in ip node timeout perfdhcp dnsmasq ss taskset; do command -v "$c" >/dev/null || die "missing command: $c"; done
[[ -f dist/bench/dhcp-storm.js && -f dist/bench/dhcp-report.js ]] || die "not built: run npm run build first"

# CPU placement (BENCH_PIN): GEN runs the load generators, SRV the server under test.
if (( PIN == 1 )); then GEN=(taskset -c 0) SRV=(taskset -c 1); else GEN=() SRV=(); fi

ID=$$
NSC=bgb${ID}c NSA=bgb${ID}a VC=bgb${ID}c0 VA=bgb${ID}a0
CLIENT_IP=10.88.0.10 APPLIANCE_IP=10.88.0.2
STAMP=$(date +%Y-%m-%d-%H%M%S)
RAW=bench/results/dhcp-$STAMP
OUT=bench/results/dhcp-$STAMP.md
TMP=$(mktemp -d /tmp/bgb-dhcpbench.XXXXXX)
SERVER_PID=""
WHY=""  # why a server was skipped (set by start_* and wait_ready, which must not run in a subshell)
mkdir -p "$RAW"

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # A graceful exit lets node write its --cpu-prof profile; give it 10 s, then insist.
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

PG_DIR=""
PROXY_PID=""
stop_proxy() {
  if [[ -n $PROXY_PID ]]; then
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
  fi
}
cleanup() {
  local rc=$?
  stop_server
  stop_proxy
  if [[ -n $PG_DIR ]]; then
    runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  ip netns del "$NSC" 2>/dev/null || true
  ip netns del "$NSA" 2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setup_lab() {
  ip netns add "$NSC"
  ip netns add "$NSA"
  # Created inside the client namespace with its peer placed straight into the appliance namespace,
  # so no end of the link ever appears in the root namespace.
  ip -n "$NSC" link add "$VC" type veth peer name "$VA" netns "$NSA"
  for ns in "$NSC" "$NSA"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$NSC" addr add "$CLIENT_IP/24" dev "$VC"
  ip -n "$NSA" addr add "$APPLIANCE_IP/24" dev "$VA"
  ip -n "$NSC" link set "$VC" up
  ip -n "$NSA" link set "$VA" up
  # 255.255.255.255 needs a route to leave by; the only one here is the veth.
  ip -n "$NSC" route add default dev "$VC"
  # A veth reports carrier a moment after both ends are up; until then it is not RUNNING and Node's
  # os.networkInterfaces() (libuv) leaves it out, so a server started too early finds no interface.
  for _ in $(seq 50); do
    [[ $(ip -n "$NSA" -br link show "$VA") == *" UP "* && $(ip -n "$NSC" -br link show "$VC") == *" UP "* ]] && return 0
    sleep 0.1
  done
  die "the veth pair did not come up within 5 s"
}

# Waits until something in the appliance namespace listens on UDP 67 (or the server died).
wait_ready() {
  local name=$1
  for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || { WHY="$name exited at start (see $RAW/$name.log)"; return 1; }
    [[ -n $(ip netns exec "$NSA" ss -Hlun 'sport = :67') ]] && return 0
    sleep 0.1
  done
  WHY="$name did not listen on UDP 67 within 15 s (see $RAW/$name.log)"
  return 1
}

start_dnsmasq() {
  # Proxy mode exactly as an appliance would run it: no DNS, no addresses, a PXE service per arch
  # (dnsmasq then leaves option 43 out of its offers to UEFI clients, as Bootgate does).
  ip netns exec "$NSA" "${SRV[@]}" dnsmasq -d --port=0 --conf-file=/dev/null --interface="$VA" --bind-interfaces \
    --dhcp-range=10.88.0.0,proxy --pxe-service=x86PC,"BIOS",undionly --pxe-service=X86-64_EFI,"UEFI x64",ipxe.efi \
    --dhcp-leasefile="$TMP/dnsmasq.leases" --pid-file="$TMP/dnsmasq.pid" --quiet-dhcp --log-facility=- \
    >>"$RAW/dnsmasq.log" 2>&1 &
  SERVER_PID=$!
}

# The shared store for bootgate-pg: one cluster for the whole run (each start gets a fresh database).
PG_URL=""
PG_DBS=0
STORE_URL=""  # not exported: the daemon refuses BOOTGATE_* variables that are not config keys
# A fresh database on the run's cluster; sets STORE_URL (or WHY and fails).
new_pg_database() {
  if [[ -z $PG_DIR ]]; then
    [[ -f dist/test/lab/postgres.js ]] || { WHY="not built: dist/test/lab/postgres.js is missing"; return 1; }
    local info
    info=$(node --input-type=module -e "import { startPgCluster } from './dist/test/lab/postgres.js'; const c = startPgCluster(); process.stdout.write(JSON.stringify({ dir: c.dir, url: c.url }));") \
      || { WHY="could not start a PostgreSQL cluster"; return 1; }
    PG_DIR=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).dir)' "$info")
    PG_URL=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).url)' "$info")
  fi
  PG_DBS=$(( PG_DBS + 1 ))
  local db="bench$PG_DBS" port host
  port=$(sed -E 's#.*localhost:([0-9]+)/.*#\1#' <<<"$PG_URL")
  host=$PG_DIR
  runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/createdb" -h "$host" -p "$port" -U postgres "$db"
  STORE_URL="postgres://postgres@localhost:$port/$db?host=$host"
  PG_SOCKET="$host/.s.PGSQL.$port"
  PG_DB=$db
}

start_bootgate-pg() {
  new_pg_database || return 1
  local rc=0
  NAME=bootgate-pg start_bootgate || rc=$?
  STORE_URL=""
  return "$rc"
}

# The same on a database whose every answer is held PG_DELAY_MS once the daemon is ready (slow_down).
start_bootgate-pg-slow() {
  new_pg_database || return 1
  stop_proxy
  rm -f "$TMP/pg-proxy.port"
  ip netns exec "$NSA" node dist/bench/pg-slow-proxy.js "$PG_SOCKET" "$TMP/pg-proxy.port" "$PG_DELAY_MS" >>"$RAW/pg-slow-proxy.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 100); do [[ -s $TMP/pg-proxy.port ]] && break; sleep 0.1; done
  [[ -s $TMP/pg-proxy.port ]] || { WHY="the slow PostgreSQL stand-in did not start (see $RAW/pg-slow-proxy.log)"; return 1; }
  STORE_URL="postgres://postgres@127.0.0.1:$(cat "$TMP/pg-proxy.port")/$PG_DB?sslmode=disable"
  local rc=0
  NAME=bootgate-pg-slow start_bootgate || rc=$?
  STORE_URL=""
  return "$rc"
}

# bootgate-pg-slow: from now on the database answers PG_DELAY_MS late.
slow_down() {
  [[ $1 == bootgate-pg-slow && -n $PROXY_PID ]] || return 0
  kill -USR1 "$PROXY_PID"
  for _ in $(seq 50); do grep -q 'held' "$RAW/pg-slow-proxy.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "  warning: the slow stand-in did not confirm its delay"
}

start_bootgate() {
  [[ -f dist/daemon/bootgate.js ]] || { WHY="not built: dist/daemon/bootgate.js is missing"; return 1; }
  local store_lines="  path: $TMP/bootgate/bootgate.db"
  [[ -n $STORE_URL ]] && store_lines="  url: \"$STORE_URL\""
  local name=${NAME:-bootgate}
  mkdir -p "$TMP/bootgate/root"
  # Empty boot programs: the zero-config default picks boot programs by presence.
  : >"$TMP/bootgate/root/undionly.kpxe"
  : >"$TMP/bootgate/root/ipxe.efi"
  cat >"$TMP/bootgate.yaml" <<EOF
server:
  interfaces: [$VA]
tftp:
  enabled: false
  port: 16969
http:
  enabled: false
  port: 18080
admin:
  enabled: false
store:
$store_lines
log:
  level: warn
root: $TMP/bootgate/root
EOF
  cp "$TMP/bootgate.yaml" "$RAW/$name.yaml"
  local prof=()
  [[ $CPU_PROF == 1 ]] && prof=(--cpu-prof --cpu-prof-dir="$RAW/cpuprof")
  ip netns exec "$NSA" "${SRV[@]}" node "${prof[@]}" dist/daemon/bootgate.js serve --config "$TMP/bootgate.yaml" \
    >>"$RAW/$name.log" 2>&1 &
  SERVER_PID=$!
}

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
VENDOR_HEX=$(hex "PXEClient:Arch:00007:UNDI:003000")
# RFC 4578: 93 = x64 UEFI, 94 = UNDI 3.0, 97 = type 0 + an SMBIOS GUID (one for all perfdhcp clients).
PERF_OPTS=(-o "60,$VENDOR_HEX" -o 93,0007 -o 94,010300 -o 97,0033221100554477668899aabbccddee01)

# UDP datagrams a namespace's kernel dropped because a socket's receive queue was full
# (/proc/net/snmp is per namespace): in the appliance namespace that is the server falling behind,
# in the client namespace the load generator.
rcvbuf_errors() {
  ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else { print $c; exit } }' /proc/net/snmp
}

# The server's CPU time so far in milliseconds, user and system ("u s"), from /proc/<pid>/stat
# (fields 14 and 15, in clock ticks; the command name in field 2 has no spaces for node or dnsmasq).
TICK_MS=$(( 1000 / $(getconf CLK_TCK) ))
server_cpu_ms() {
  awk -v t="$TICK_MS" '{ print $14 * t, $15 * t }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo "0 0"
}

# Runs a load step ("$@") and records, next to its output, both namespaces' socket-queue drops and the
# CPU time the server spent during it (what one answered DISCOVER costs, whatever the machine's load).
with_queue_drops() {
  local out=$1; shift
  local a0 c0 u0 s0 u1 s1 rc=0
  a0=$(rcvbuf_errors "$NSA"); c0=$(rcvbuf_errors "$NSC")
  read -r u0 s0 < <(server_cpu_ms)
  "$@" || rc=$?
  read -r u1 s1 < <(server_cpu_ms)
  echo "appliance_rcvbuf_errors=$(( $(rcvbuf_errors "$NSA") - a0 )) client_rcvbuf_errors=$(( $(rcvbuf_errors "$NSC") - c0 ))" \
    "server_user_ms=$(( u1 - u0 )) server_sys_ms=$(( s1 - s0 ))" >"$out"
  return "$rc"
}

run_perfdhcp() {
  local name=$1 rate=$2 extra=${3:-} out=$4
  # -W: wait 0.2 s for late offers after the last DISCOVER; -s: the same client MACs for both servers.
  local rc=0
  timeout $((SECS + 20)) ip netns exec "$NSC" "${GEN[@]}" perfdhcp -4 -l "$VC" -i -r "$rate" -R "$PERF_CLIENTS" -p "$SECS" \
    -W 200000 -s 1 $extra "${PERF_OPTS[@]}" >"$out" 2>&1 || rc=$?
  # perfdhcp exits 3 when some exchanges were dropped: that is a result, not a failure.
  if (( rc != 0 && rc != 3 )); then echo "  perfdhcp $name $rate/s exited $rc (see $out)"; fi
}

# Waits (at most 15 s) until the server has worked off its receive queue on port 67. A server with a deep
# queue still answers the previous phase's DISCOVERs seconds later; perfdhcp would then see offers for
# xids it is only about to send (it aborts on that) or count them as the next run's.
drain_server() {
  local quiet=0 q
  for _ in $(seq 150); do
    q=$(ip netns exec "$NSA" ss -Hlun 'sport = :67' | awk '{ s += $2 } END { print s + 0 }')
    if (( q == 0 )); then (( ++quiet >= 3 )) && return 0; else quiet=0; fi
    sleep 0.1
  done
  echo "  warning: the server's port-67 queue did not drain within 15 s"
}

# Starts a server and waits for it; on failure records why and marks the server skipped for later steps.
# Then warms it up (BENCH_WARMUP=1, the default): each step starts a fresh process, and a JIT-compiled
# server's first second (V8 compiling the hot path, the store's first writes) is not what an appliance
# that has been up for a while does; dnsmasq gets the same warm-up so both are measured alike.
start_server() {
  local name=$1
  WHY=""
  if "start_$name" && wait_ready "$name"; then
    [[ $WARMUP == 1 ]] && timeout 20 ip netns exec "$NSC" "${GEN[@]}" perfdhcp -4 -l "$VC" -i -r 2000 -R 2000 -p 1 -W 200000 -s 2 \
      "${PERF_OPTS[@]}" >>"$RAW/warmup-$name.txt" 2>&1
    drain_server
    slow_down "$name"
    return 0
  fi
  echo "  $name skipped: $WHY"; echo "$WHY" >"$RAW/status-$name.txt"; SKIP[$name]=1
  stop_server
  return 1
}

# Stops the server, noting if it died under load (a crash is a result too).
finish_server() {
  local name=$1 step=$2
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    WHY="$name died during $step (see $RAW/$name.log)"; echo "  $WHY"; echo "$WHY" >"$RAW/status-$name.txt"; SKIP[$name]=1
  fi
  stop_server
}

storm_step() {
  local name=$1 rc=0
  start_server "$name" || return 0
  with_queue_drops "$RAW/storm-$name-udp.txt" timeout 60 ip netns exec "$NSC" "${GEN[@]}" node dist/bench/dhcp-storm.js --label "$name" --clients "$STORM_CLIENTS" \
    --spread-ms 1000 --wait-ms 3000 --json "$RAW/storm-$name.json" || rc=$?
  finish_server "$name" storm
  if (( rc != 0 )) && [[ -z ${SKIP[$name]:-} ]]; then
    if (( rc == 3 )); then WHY="storm: not one offer; perfdhcp skipped (see $RAW/$name.log)"
    else WHY="storm generator failed (exit $rc); perfdhcp skipped"; fi
    echo "  $WHY"; echo "$WHY" >"$RAW/status-$name.txt"; SKIP[$name]=1
  fi
}

rate_step() {
  local name=$1 rate=$2 rep=$3 out="$RAW/perfdhcp-$1-$2"
  start_server "$name" || return 0
  with_queue_drops "$out-$rep-udp.txt" run_perfdhcp "$name" "$rate" "" "$out-$rep.txt"
  echo "  $name $rate/s run $rep: $(grep -E '^(sent packets|drops ratio|avg delay)' "$out-$rep.txt" | tr '\n' ' ' || true)"
  if [[ $P99_PASS == 1 && $rep == 1 ]]; then drain_server; run_perfdhcp "$name" "$rate" "-x t" "$out-timers.txt"; fi
  finish_server "$name" "perfdhcp at $rate/s"
}

write_meta() {
  {
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpus=$(nproc)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "node_version=$(node --version)"
    echo "dnsmasq_version=$(dnsmasq --version | head -1 | awk '{print $3}')"
    echo "perfdhcp_version=$(perfdhcp -v 2>&1 | awk '/VERSION/{print $2}')"
    echo "bootgate_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- daemon 2>/dev/null || echo '+dirty')"
    echo "servers=$SERVERS"
    echo "pg_delay_ms=$PG_DELAY_MS"
    echo "rates=$RATES"
    echo "seconds=$SECS"
    echo "storm_clients=$STORM_CLIENTS"
    echo "perfdhcp_clients=$PERF_CLIENTS"
    echo "warmup=$WARMUP"
    echo "repeat=$REPEAT"
    echo "pin=$PIN"
  } >"$RAW/meta.txt"
}

write_meta
setup_lab
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }'; then
  echo "warning: load average $load1 on $(nproc) CPUs: other work shares this machine, expect noisy numbers"
fi
# The servers take turns at every step (each on a fresh start), so background load from other work on
# this machine falls on both alike instead of on whichever ran second.
declare -A SKIP=()
echo "== boot storm: $STORM_CLIENTS clients within 1 s"
for s in $SERVERS; do storm_step "$s"; done
echo "== perfdhcp -i, $SECS s per rate"
for rate in $RATES; do
  for rep in $(seq "$REPEAT"); do
    for s in $SERVERS; do [[ -n ${SKIP[$s]:-} ]] || rate_step "$s" "$rate" "$rep"; done
  done
done
for s in $SERVERS; do [[ -f $RAW/status-$s.txt ]] || echo ok >"$RAW/status-$s.txt"; done
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/meta.txt"
echo
node dist/bench/dhcp-report.js --raw "$RAW" --out "$OUT"
if [[ $CPU_PROF == 1 && -d $RAW/cpuprof && -f dist/bench/dhcp-cpuprofile.js ]]; then
  node dist/bench/dhcp-cpuprofile.js "$RAW"/cpuprof/*.cpuprofile | tee "$RAW/cpuprof-summary.txt"
fi
echo "written: $OUT (raw outputs in $RAW)"
