# Shared shell helpers for the TFTP benchmarks (tftp-bench.sh, tftp-many.sh): the work directory,
# fetching atftpd, waiting for Bootgate's bench server to listen, and stopping the server the script
# started. Source it, then call bench_workdir; SRV_PID holds the running server's PID.

# Makes the script's work directory /tmp/$1.XXXXXX (WORK), its world-readable boot root (ROOT, where
# the servers find the files), an empty results table (RESULTS); no server running yet (SRV_PID).
bench_workdir() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$WORK"
  ROOT=$WORK/root
  mkdir -p "$ROOT"
  chmod 755 "$ROOT"
  RESULTS=$WORK/results.tsv
  : > "$RESULTS"
  SRV_PID=
}

# atftpd conflicts with tftpd-hpa in apt: unpack it into $WORK instead of installing it.
fetch_atftpd() {
  [ -x "$WORK/atftpd/usr/sbin/atftpd" ] && return 0
  (cd "$WORK" && apt-get download atftpd >/dev/null 2>&1 && dpkg -x atftpd_*.deb atftpd)
}

# Waits (at most 10 s) until bench/tftp-server.js has written "listening" to its stdout file $1.
wait_listening() {
  for _ in $(seq 100); do grep -q '^listening' "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# Stops the server this script started, by its PID only.
stop_server() {
  if [ -n "${SRV_PID:-}" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
  fi
  SRV_PID=
}
