#!/usr/bin/env bash
# TFTP benchmark: Bootgate's engine against atftpd, tftpd-hpa and dnsmasq over a veth pair
# inside network namespaces this script creates and removes. Every download is sha256-checked.
# Prints one table with MB/s and the ratios against the targets, and writes it to bench/results/.
#
#   npm run build && bash bench/tftp-bench.sh            # full run (about half an hour on 2 vCPUs)
#   BENCH_QUICK=1 bash bench/tftp-bench.sh               # small files, fewer clients (a few minutes)
#
# Knobs (environment): SIZES (single stream, e.g. "256M 1G"), REPEAT (runs per single-stream cell,
# median kept), CONC_SIZE, CONC_CLIENTS ("20 100"), CONC_SERVERS, LOSS_SIZE, LOSS ("1 5"),
# LOSS_TIMEOUT (s), BIG_SIZE (blksize 8192 scenario), RSS_SIZE, RSS_CLIENTS, OTHER_SIZE (scenario 6: the
# tftp-hpa and curl clients), LOCK_SIZE and LOCK_REPEAT (scenario 7: lock-step clients, no windowsize:
# curl at 1428, tftp-hpa at 512, atftp at 1024 and 1432; the servers take turns within each repeat;
# LOCK_SERVERS, default "bootgate bootgate-nosync hpa atftpd", bootgate-nosync = fast path off),
# DL_TIMEOUT (s), SCENARIOS (subset of "1 2 3 4 5 6 7"), KEEP=1 keeps the work directory.
#
#   SCENARIOS=7 bash bench/tftp-bench.sh                 # lock-step only (64 MiB, 3 rounds: ~10 min)
#
# Network safety: everything runs inside ${TAG}s / ${TAG}c (10.88.0.1 / 10.88.0.2); nothing touches a
# real interface; a trap removes the namespaces and stops the servers this script started (by PID).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/tftp-netns.sh
source "$HERE/lib/tftp-netns.sh"
# shellcheck source=lib/tftp-servers.sh
source "$HERE/lib/tftp-servers.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  SIZES=${SIZES:-64M}; REPEAT=${REPEAT:-1}; CONC_SIZE=${CONC_SIZE:-32M}; CONC_CLIENTS=${CONC_CLIENTS:-20}
  LOSS_SIZE=${LOSS_SIZE:-8M}; BIG_SIZE=${BIG_SIZE:-64M}; RSS_SIZE=${RSS_SIZE:-256M}; RSS_CLIENTS=${RSS_CLIENTS:-20}
fi
SIZES=${SIZES:-256M 1G}
REPEAT=${REPEAT:-3}
CONC_SIZE=${CONC_SIZE:-256M}
CONC_CLIENTS=${CONC_CLIENTS:-20 100}
CONC_SERVERS=${CONC_SERVERS:-bootgate atftpd}
LOSS_SIZE=${LOSS_SIZE:-16M}
LOSS=${LOSS:-1 5}
LOSS_TIMEOUT=${LOSS_TIMEOUT:-300}
BIG_SIZE=${BIG_SIZE:-256M}
RSS_SIZE=${RSS_SIZE:-1G}
RSS_CLIENTS=${RSS_CLIENTS:-100}
DL_TIMEOUT=${DL_TIMEOUT:-900}
OTHER_SIZE=${OTHER_SIZE:-64M}
LOCK_SIZE=${LOCK_SIZE:-64M}
LOCK_REPEAT=${LOCK_REPEAT:-3}
LOCK_CLIENTS=${LOCK_CLIENTS:-curl1428 hpa512 atftp1024 atftp1432}
LOCK_SERVERS=${LOCK_SERVERS:-bootgate bootgate-nosync hpa atftpd}
SCENARIOS=${SCENARIOS:-1 2 3 4 5 6 7}
CACHE_BYTES=268435456

[ "$(id -u)" = 0 ] || { echo "tftp-bench: needs root (network namespaces)" >&2; exit 2; }
for tool in atftp tftp curl in.tftpd dnsmasq nft node sha256sum; do
  command -v "$tool" >/dev/null || { echo "tftp-bench: missing $tool" >&2; exit 2; }
done
[ -f "$REPO/dist/bench/tftp-server.js" ] || { echo "tftp-bench: run 'npm run build' first" >&2; exit 2; }

TAG=bgtb$(( $$ % 100000 ))
bench_workdir bg-tftp-bench
SRV_NAME=

cleanup() {
  stop_server
  tftp_netns_down "$TAG"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

bytes_of() {
  local n=${1%[MG]}
  case $1 in *G) echo $(( n * 1024 * 1024 * 1024 ));; *M) echo $(( n * 1024 * 1024 ));; *) echo "$1";; esac
}

make_file() {
  local name=$1 size=$2
  [ -f "$ROOT/$name" ] && return 0
  log "creating $name ($size random bytes)"
  head -c "$(bytes_of "$size")" /dev/urandom > "$ROOT/$name"
  chmod 644 "$ROOT/$name"
  sha256sum "$ROOT/$name" | cut -d' ' -f1 > "$WORK/$name.sha256"
}


start_server() {
  local name=$1; shift
  stop_server
  local ns="${TAG}s"
  case $name in
    bootgate)
      # All bench clients share one address: lift the per-client limit (default 8) as for the anchors.
      ip netns exec "$ns" node "$REPO/dist/bench/tftp-server.js" --root "$ROOT" --address "$TFTP_NS_SERVER_IP" --port 69 \
        --sessions-max 1000 --sessions-per-client-max 1000 "$@" \
        > "$WORK/bootgate.out" 2> "$WORK/bootgate.err" &
      SRV_PID=$!
      wait_listening "$WORK/bootgate.out" || true
      ;;
    bootgate-nosync)
      # The same engine with the lock-step fast path off (every packet through the event loop), for comparison.
      start_server bootgate --no-lockstep-sync "$@"
      SRV_NAME=$name
      return 0
      ;;
    atftpd)
      fetch_atftpd
      ip netns exec "$ns" "$WORK/atftpd/usr/sbin/atftpd" --daemon --no-fork --user root.root --maxthread 250 \
        --bind-address "$TFTP_NS_SERVER_IP" --logfile /dev/null "$ROOT" &
      SRV_PID=$!
      sleep 0.5
      ;;
    hpa)
      ip netns exec "$ns" in.tftpd -L -u root -s "$ROOT" -a "$TFTP_NS_SERVER_IP:69" &
      SRV_PID=$!
      sleep 0.5
      ;;
    dnsmasq)
      # TFTP only (port=0 disables DNS); its default limit is 50 transfers, raised for the storm runs.
      ip netns exec "$ns" dnsmasq --keep-in-foreground --port=0 --enable-tftp --tftp-root="$ROOT" --tftp-max=250 \
        --listen-address="$TFTP_NS_SERVER_IP" --bind-interfaces --user=root --pid-file="$WORK/dnsmasq.pid" \
        --conf-file=/dev/null --log-facility=/dev/null &
      SRV_PID=$!
      sleep 0.5
      ;;
  esac
  kill -0 "$SRV_PID" 2>/dev/null || { echo "tftp-bench: $name did not start" >&2; exit 1; }
  SRV_NAME=$name
}


# One download in the client namespace, checked against the file's sha256. Prints nothing; 0 = intact.
# $1 file, $2 blksize, $3 windowsize (0 = no windowsize option), $4 timeout seconds
get_atftp() {
  local file=$1 bs=$2 ws=$3 to=$4
  local opts=(--option "blksize $bs")
  if [ "$ws" != 0 ]; then opts+=(--option "windowsize $ws"); fi
  local got
  got=$(timeout "$to" ip netns exec "${TAG}c" atftp "${opts[@]}" -g -r "$file" -l /dev/stdout "$TFTP_NS_SERVER_IP" 2>/dev/null \
    | sha256sum | cut -d' ' -f1) || true
  [ "$got" = "$(cat "$WORK/$file.sha256")" ]
}

# The same download with the other clients the issue names (no windowsize in either): tftp-hpa's client
# (its default 512-byte blocks) and curl (--tftp-blksize 1428). $1 hpa|curl, $2 file, $3 timeout seconds
get_other() {
  local client=$1 file=$2 to=$3 got
  case $client in
    hpa) got=$(timeout "$to" ip netns exec "${TAG}c" tftp -m binary "$TFTP_NS_SERVER_IP" -c get "$file" /dev/stdout 2>/dev/null \
      | sha256sum | cut -d' ' -f1) || true ;;
    curl) got=$(timeout "$to" ip netns exec "${TAG}c" curl -sS --tftp-blksize 1428 "tftp://$TFTP_NS_SERVER_IP/$file" -o - 2>/dev/null \
      | sha256sum | cut -d' ' -f1) || true ;;
  esac
  [ "$got" = "$(cat "$WORK/$file.sha256")" ]
}

# One timed download with another client: MB/s, or fail:<bound. $1 hpa|curl, $2 file, $3 timeout
single_other() {
  local client=$1 file=$2 to=$3 t0 t1
  t0=$(now)
  if get_other "$client" "$file" "$to"; then t1=$(now); mbps "$(bytes_of "${file#f}")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  else echo "fail:<$(mbps "$(bytes_of "${file#f}")" "$to")"; fi
}

# One timed lock-step download (no windowsize option): seconds, or "fail". $1 client, $2 file, $3 timeout
# curl1428: curl --tftp-blksize 1428; hpa512: tftp-hpa's client (512-byte blocks, it has no blksize);
# atftpNNNN: atftp asking blksize NNNN only (GRUB asks 1024, iPXE 1432).
lockstep_once() {
  local client=$1 file=$2 to=$3 t0 t1 ok=1
  t0=$(now)
  case $client in
    curl1428) get_other curl "$file" "$to" || ok=0 ;;
    hpa512) get_other hpa "$file" "$to" || ok=0 ;;
    atftp*) get_atftp "$file" "${client#atftp}" 0 "$to" || ok=0 ;;
  esac
  t1=$(now)
  if [ "$ok" = 1 ]; then awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; else echo fail; fi
}

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) print "n/a"; else if (b / 1e6 / s < 10) printf "%.3f", b / 1e6 / s; else printf "%.1f", b / 1e6 / s }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# record SCENARIO CASE SERVER VALUE [NOTE]
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >> "$RESULTS"; }

# Single stream: median MB/s over REPEAT runs. $1 server label, $2 file, $3 blksize, $4 window, $5 timeout
single() {
  local label=$1 file=$2 bs=$3 ws=$4 to=$5 times=() ok=1
  for _ in $(seq "$REPEAT"); do
    local t0 t1
    t0=$(now)
    if get_atftp "$file" "$bs" "$ws" "$to"; then t1=$(now); times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
    else ok=0; times+=("$to"); fi
  done
  local med
  med=$(echo "${times[*]}" | median)
  if [ "$ok" = 1 ]; then mbps "$(bytes_of "${file#f}")" "$med"; else echo "fail:<$(mbps "$(bytes_of "${file#f}")" "$med")"; fi
}

# Concurrent clients: aggregate MB/s. $1 clients, $2 file
storm() {
  local n=$1 file=$2 pids=() fails=0 t0 t1
  t0=$(now)
  for _ in $(seq "$n"); do get_atftp "$file" 1428 16 "$DL_TIMEOUT" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  t1=$(now)
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  local agg
  agg=$(mbps $(( $(bytes_of "${file#f}") * n )) "$secs")
  if [ "$fails" = 0 ]; then echo "$agg"; else echo "fail:$fails/$n:$agg"; fi
}

tftp_netns_up "$TAG"
log "namespaces ${TAG}s (server $TFTP_NS_SERVER_IP) and ${TAG}c (client $TFTP_NS_CLIENT_IP) up"
MACHINE="$(hostname), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), node $(node --version)"
START=$(date -u +%Y-%m-%dT%H:%MZ)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

for sc in $SCENARIOS; do case $sc in
  1)
    for size in $SIZES; do
      make_file "f$size" "$size"
      for srv in bootgate atftpd hpa dnsmasq; do
        start_server "$srv"
        log "S1 single stream $size: $srv"
        record 1 "$size" "$srv" "$(single "$srv" "f$size" 1428 16 "$DL_TIMEOUT")"
      done
    done
    ;;
  2)
    make_file "f$CONC_SIZE" "$CONC_SIZE"
    for n in $CONC_CLIENTS; do
      for srv in $CONC_SERVERS; do
        start_server "$srv"
        log "S2 $n clients x $CONC_SIZE: $srv"
        record 2 "$n x $CONC_SIZE" "$srv" "$(storm "$n" "f$CONC_SIZE")"
      done
    done
    ;;
  3)
    make_file "f$LOSS_SIZE" "$LOSS_SIZE"
    for loss in $LOSS; do
      for srv in bootgate atftpd; do
        # netfilter sees a GSO-segmented window as one packet: per-packet loss needs per-packet sends.
        if [ "$srv" = bootgate ]; then start_server bootgate --no-gso; else start_server "$srv"; fi
        tftp_netns_loss "$TAG" "$loss"
        log "S3 $loss% loss, $LOSS_SIZE: $srv"
        record 3 "$loss% loss, $LOSS_SIZE" "$srv" "$(REPEAT=1 single "$srv" "f$LOSS_SIZE" 1428 16 "$LOSS_TIMEOUT")"
        tftp_netns_loss "$TAG" 0
      done
    done
    ;;
  4)
    make_file "f$BIG_SIZE" "$BIG_SIZE"
    start_server bootgate
    log "S4 reference 1428/16, $BIG_SIZE: bootgate"
    record 4 "1428/16 $BIG_SIZE" bootgate "$(single bootgate "f$BIG_SIZE" 1428 16 "$DL_TIMEOUT")"
    start_server bootgate --block-size-max 8192
    log "S4 8192/16, $BIG_SIZE: bootgate"
    record 4 "8192/16 $BIG_SIZE" bootgate "$(single bootgate "f$BIG_SIZE" 8192 16 "$DL_TIMEOUT")"
    start_server atftpd
    log "S4 8192/16, $BIG_SIZE: atftpd"
    record 4 "8192/16 $BIG_SIZE" atftpd "$(REPEAT=1 single atftpd "f$BIG_SIZE" 8192 16 120)"
    ;;
  6)
    make_file "f$OTHER_SIZE" "$OTHER_SIZE"
    for client in hpa curl; do
      for srv in bootgate atftpd hpa dnsmasq; do
        start_server "$srv"
        log "S6 $client client, $OTHER_SIZE: $srv"
        record 6 "$client client $OTHER_SIZE" "$srv" "$(single_other "$client" "f$OTHER_SIZE" "$DL_TIMEOUT")"
      done
    done
    ;;
  7)
    make_file "f$LOCK_SIZE" "$LOCK_SIZE"
    declare -A LOCK_TIMES=()
    for rep in $(seq "$LOCK_REPEAT"); do
      for srv in $LOCK_SERVERS; do
        start_server "$srv"
        for client in $LOCK_CLIENTS; do
          log "S7 round $rep, $client, $LOCK_SIZE: $srv"
          LOCK_TIMES[$client.$srv]="${LOCK_TIMES[$client.$srv]:-} $(lockstep_once "$client" "f$LOCK_SIZE" "$DL_TIMEOUT")"
        done
      done
    done
    for client in $LOCK_CLIENTS; do
      for srv in $LOCK_SERVERS; do
        t=${LOCK_TIMES[$client.$srv]}
        if [[ $t == *fail* ]]; then v="fail:<$(mbps "$(bytes_of "$LOCK_SIZE")" "$DL_TIMEOUT")"
        else v=$(mbps "$(bytes_of "$LOCK_SIZE")" "$(echo "$t" | median)"); fi
        record 7 "$client $LOCK_SIZE" "$srv" "$v" "runs (s):$t"
      done
    done
    ;;
  5)
    make_file "f$RSS_SIZE" "$RSS_SIZE"
    start_server bootgate
    log "S5 $RSS_CLIENTS clients x $RSS_SIZE: bootgate peak RSS"
    agg=$(storm "$RSS_CLIENTS" "f$RSS_SIZE")
    hwm=$(awk '/VmHWM/ { print $2 * 1024 }' "/proc/$SRV_PID/status")
    record 5 "$RSS_CLIENTS x $RSS_SIZE" bootgate "$agg" "peak RSS $((hwm / 1048576)) MiB, cache limit $((CACHE_BYTES / 1048576)) MiB, above: $(( (hwm - CACHE_BYTES) / 1048576 )) MiB"
    ;;
esac; done
stop_server

MACHINE="$MACHINE; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
node "$REPO/dist/bench/tftp-report.js" "$RESULTS" "$START" "$MACHINE" | tee "$WORK/report.md"
mkdir -p "$REPO/bench/results"
OUT="$REPO/bench/results/tftp-$(date -u +%Y%m%d-%H%M%S).md"
cp "$WORK/report.md" "$OUT"
log "report written to $OUT"
