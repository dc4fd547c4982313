#!/usr/bin/env bash
# TFTP with many clients, each from its own address as real machines are: one network namespace per
# client, joined to the server's namespace by a bridge. Bootgate (its default per-address limit, which
# one address per client never reaches) against atftpd, the same clients, side by side in one run.
# Prints a table (aggregate MB/s, ratio, Bootgate's peak RSS) and writes it to bench/results/.
#
#   npm run build && bash bench/tftp-many.sh                      # 10, 50, 200 clients; 1428/16 and 1468/4
#   MANY_CLIENTS="10 50" MANY_SIZE=8M bash bench/tftp-many.sh     # smaller
#
# Knobs (environment): MANY_CLIENTS ("10 50 200"), MANY_SIZE (file per client, 16M), MANY_CASES
# ("1428/16 1468/4": blksize/windowsize as atftp asks), MANY_REPEAT (rounds, median kept; 1),
# MANY_SERVERS ("bootgate atftpd"; add bootgate-dgram for Bootgate with every DATA send through
# node:dgram, as before direct sends, for a before/after in one run), MANY_WORKERS (Bootgate's tftp.workers; its default when unset), DL_TIMEOUT (s per client, 600), KEEP=1 keeps the work directory.
# Every client downloads to /dev/null and must exit 0; one client in ten (and always the first) is also
# sha256-checked, so 200 hash processes do not eat the CPUs the servers are measured on.
#
# Network safety: namespaces ${TAG}s (server, 10.89.0.1/16, bridge) and ${TAG}cN (client N, 10.89.x.y)
# only; a trap removes them and stops the servers this script started (by PID). Counts and times bounded.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/tftp-servers.sh
source "$HERE/lib/tftp-servers.sh"

MANY_CLIENTS=${MANY_CLIENTS:-10 50 200}
MANY_SIZE=${MANY_SIZE:-16M}
MANY_CASES=${MANY_CASES:-1428/16 1468/4}
MANY_REPEAT=${MANY_REPEAT:-1}
MANY_SERVERS=${MANY_SERVERS:-bootgate atftpd}
DL_TIMEOUT=${DL_TIMEOUT:-600}
CACHE_BYTES=268435456
MAX_CLIENTS=250

[ "$(id -u)" = 0 ] || { echo "tftp-many: needs root (network namespaces)" >&2; exit 2; }
for tool in atftp node sha256sum ip; do command -v "$tool" >/dev/null || { echo "tftp-many: missing $tool" >&2; exit 2; }; done
[ -f "$REPO/dist/bench/tftp-server.js" ] || { echo "tftp-many: run 'npm run build' first" >&2; exit 2; }
N_MAX=0
for n in $MANY_CLIENTS; do [ "$n" -gt "$N_MAX" ] && N_MAX=$n; done
[ "$N_MAX" -le "$MAX_CLIENTS" ] || { echo "tftp-many: at most $MAX_CLIENTS clients" >&2; exit 2; }

TAG=bgtm$(( $$ % 100000 ))
SERVER_IP=10.89.0.1
bench_workdir bg-tftp-many
UP=0

client_ip() { echo "10.89.$(( $1 / 200 + 1 )).$(( $1 % 200 + 10 ))"; }

net_down() {
  local i
  {
    for i in $(seq 1 "$UP"); do echo "netns del ${TAG}c$i"; done
    echo "netns del ${TAG}s"
  } | ip -force -batch - 2>/dev/null || true
}

net_up() {
  local i
  ip netns add "${TAG}s"
  ip -n "${TAG}s" link set lo up
  ip -n "${TAG}s" link add "${TAG}br" type bridge
  ip -n "${TAG}s" addr add "$SERVER_IP/16" dev "${TAG}br"
  ip -n "${TAG}s" link set "${TAG}br" up
  for i in $(seq 1 "$N_MAX"); do
    local ns="${TAG}c$i"
    ip netns add "$ns"
    UP=$i
    # veth created inside the client namespace, its peer moved into the server's and enslaved to the bridge.
    ip -n "$ns" link add eth0 type veth peer name "p$i" netns "${TAG}s"
    ip -n "$ns" addr add "$(client_ip "$i")/16" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "${TAG}s" link set "p$i" master "${TAG}br" up
  done
}

cleanup() {
  stop_server
  net_down
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
bytes_of() {
  local n=${1%[MG]}
  case $1 in *G) echo $(( n * 1024 * 1024 * 1024 ));; *M) echo $(( n * 1024 * 1024 ));; *) echo "$1";; esac
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) print "n/a"; else printf "%.1f", b / 1e6 / s }'; }
# CPU seconds (user + system, all threads) a running process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }


start_server() {
  local name=$1
  stop_server
  case $name in
    bootgate|bootgate-dgram)
      local extra=()
      [ "$name" = bootgate-dgram ] && extra=(--no-direct-io)
      : > "$WORK/$name.out"
      ip netns exec "${TAG}s" node "$REPO/dist/bench/tftp-server.js" --root "$ROOT" --address "$SERVER_IP" --port 69 \
        --sessions-max 1000 ${MANY_WORKERS:+--workers "$MANY_WORKERS"} "${extra[@]}" > "$WORK/$name.out" 2> "$WORK/$name.err" &
      SRV_PID=$!
      wait_listening "$WORK/$name.out" || true
      ;;
    atftpd)
      fetch_atftpd
      ip netns exec "${TAG}s" "$WORK/atftpd/usr/sbin/atftpd" --daemon --no-fork --user root.root --maxthread 300 \
        --bind-address "$SERVER_IP" --logfile /dev/null "$ROOT" &
      SRV_PID=$!
      sleep 0.5
      ;;
  esac
  kill -0 "$SRV_PID" 2>/dev/null || { echo "tftp-many: $name did not start" >&2; exit 1; }
}


# One client's download from its namespace. $1 client index, $2 blksize, $3 windowsize. 0 = intact.
one_client() {
  local i=$1 bs=$2 ws=$3 ns="${TAG}c$1"
  local opts=(--option "blksize $bs" --option "windowsize $ws")
  if [ "$i" = 1 ] || [ $(( i % 10 )) = 0 ]; then
    local got
    got=$(timeout "$DL_TIMEOUT" ip netns exec "$ns" atftp "${opts[@]}" -g -r file -l /dev/stdout "$SERVER_IP" 2>/dev/null | sha256sum | cut -d' ' -f1) || true
    [ "$got" = "$SUM" ]
  else
    timeout "$DL_TIMEOUT" ip netns exec "$ns" atftp "${opts[@]}" -g -r file -l /dev/null "$SERVER_IP" >/dev/null 2>&1
  fi
}

# All n clients at once: prints "seconds failures client-cpu-seconds" (user + system of everything the
# clients ran, from the shell's children times: the client side's share of the machine).
storm() {
  local n=$1 bs=$2 ws=$3 pids=() fails=0 t0 t1 i ccpu
  t0=$(now)
  for i in $(seq 1 "$n"); do one_client "$i" "$bs" "$ws" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  t1=$(now)
  # The builtin runs in this shell (a command substitution would be a child with no children of its own).
  local tf="$WORK/times.$BASHPID"
  times > "$tf"
  ccpu=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }; printf "%.2f", t }' "$tf")
  rm -f "$tf"
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $fails $ccpu"
}

log "creating the $MANY_SIZE file"
head -c "$(bytes_of "$MANY_SIZE")" /dev/urandom > "$ROOT/file"
chmod 644 "$ROOT/file"
SUM=$(sha256sum "$ROOT/file" | cut -d' ' -f1)
log "creating $N_MAX client namespaces on a bridge"
net_up
MACHINE="$(hostname), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), node $(node --version)"
START=$(date -u +%Y-%m-%dT%H:%MZ)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BYTES=$(bytes_of "$MANY_SIZE")

for c in $MANY_CASES; do
  bs=${c%/*}; ws=${c#*/}
  for n in $MANY_CLIENTS; do
    declare -A SECS=() FAILS=() RSS=() CPU=() CCPU=()
    for rep in $(seq "$MANY_REPEAT"); do
      for srv in $MANY_SERVERS; do
        start_server "$srv"
        log "$n clients x $MANY_SIZE at $bs/$ws, round $rep: $srv"
        read -r secs fails ccpu < <(storm "$n" "$bs" "$ws")
        CCPU[$srv]="${CCPU[$srv]:-} $ccpu"
        SECS[$srv]="${SECS[$srv]:-} $secs"
        FAILS[$srv]=$(( ${FAILS[$srv]:-0} + fails ))
        CPU[$srv]="${CPU[$srv]:-} $(cpu_seconds "$SRV_PID")"
        if [ "$srv" = bootgate ]; then
          hwm=$(awk '/VmHWM/ { print $2 * 1024 }' "/proc/$SRV_PID/status")
          [ "$hwm" -gt "${RSS[$srv]:-0}" ] && RSS[$srv]=$hwm
        fi
        stop_server
      done
    done
    for srv in $MANY_SERVERS; do
      med=$(echo "${SECS[$srv]}" | median)
      cpu=$(echo "${CPU[$srv]}" | median)
      ccpu=$(echo "${CCPU[$srv]}" | median)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bs/$ws" "$n" "$srv" "$(mbps $(( BYTES * n )) "$med")" "${FAILS[$srv]}" "${RSS[$srv]:-}" "$cpu" "$ccpu" >> "$RESULTS"
    done
    unset SECS FAILS RSS CPU CCPU
  done
done

{
  echo "### TFTP, many clients each from its own address, $START"
  echo
  echo "Machine: $MACHINE; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "One namespace per client on a bridge; atftp 0.8.0 clients all started at once, $MANY_SIZE each; aggregate"
  echo "MB/s (10^6 B/s) = all bytes / time until the last client finished, median of $MANY_REPEAT round(s)."
  echo "Bootgate: its default per-address limit and worker count, cache limit $(( CACHE_BYTES / 1048576 )) MiB."
  echo
  echo "CPU: user + system seconds of the whole server process (all threads, Bootgate's start included) and of"
  echo "all client processes together (median of the rounds)."
  echo
  echo "| blksize/window | clients | Bootgate | atftpd | ratio (target 1.2x) | failed (Bootgate / atftpd) | server CPU s (Bootgate / atftpd) | clients' CPU s (Bootgate / atftpd) | Bootgate peak RSS | Bootgate with node:dgram sends: MB/s, server CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' -v cache="$CACHE_BYTES" '
    { key = $1 "\t" $2; if (!(key in seen)) { order[++k] = key; seen[key] = 1 }; v[key, $3] = $4; f[key, $3] = $5; c[key, $3] = $7; cc[key, $3] = $8; if ($6 != "") r[key] = $6 }
    END {
      for (i = 1; i <= k; i++) {
        split(order[i], p, "\t"); key = order[i]
        b = v[key, "bootgate"]; a = v[key, "atftpd"]
        ratio = (a > 0 && b > 0) ? sprintf("%.2fx (%s)", b / a, (b / a >= 1.2 ? "met" : "NOT met")) : "n/a"
        rss = "-"
        if (key in r) rss = sprintf("%.0f MiB (cache + %.0f MB; target <= cache + 150 MB: %s)", r[key] / 1048576, (r[key] - cache) / 1e6, ((r[key] - cache) / 1e6 <= 150 ? "met" : "NOT met"))
        dg = ((key, "bootgate-dgram") in v) ? sprintf("%s, %s", v[key, "bootgate-dgram"], c[key, "bootgate-dgram"]) : "-"
        printf "| %s | %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s | %s |\n", p[1], p[2], b, a, ratio, f[key, "bootgate"] + 0, f[key, "atftpd"] + 0, c[key, "bootgate"], c[key, "atftpd"], cc[key, "bootgate"], cc[key, "atftpd"], rss, dg
      }
    }' "$RESULTS"
} | tee "$WORK/report.md"
mkdir -p "$REPO/bench/results"
OUT="$REPO/bench/results/tftp-many-$(date -u +%Y%m%d-%H%M%S).md"
cp "$WORK/report.md" "$OUT"
log "report written to $OUT"
