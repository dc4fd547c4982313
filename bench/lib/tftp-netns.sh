# Shared shell helpers for the TFTP benchmark and the lossy-link interop run: a namespace pair joined by
# a veth link, an nftables random-drop rule, and cleanup. Source it; nothing here touches a real
# interface. Names start with "bg" plus a unique tag; addresses are 10.88.x.x inside the namespaces only.
#
#   tftp_netns_up TAG            -> creates ${TAG}s (server, 10.88.0.1) and ${TAG}c (client, 10.88.0.2)
#   tftp_netns_loss TAG PERCENT  -> drops PERCENT % of UDP packets leaving the server namespace (0 = none)
#   tftp_netns_down TAG          -> removes both (idempotent; call it from a trap)

TFTP_NS_SERVER_IP=10.88.0.1
TFTP_NS_CLIENT_IP=10.88.0.2

tftp_netns_up() {
  local tag=$1
  case $tag in bg*) ;; *) echo "tftp_netns_up: tag must start with bg" >&2; return 1 ;; esac
  tftp_netns_down "$tag"
  ip netns add "${tag}s"
  ip netns add "${tag}c"
  ip link add "${tag}v0" type veth peer name "${tag}v1"
  ip link set "${tag}v0" netns "${tag}s"
  ip link set "${tag}v1" netns "${tag}c"
  ip -n "${tag}s" addr add "$TFTP_NS_SERVER_IP/24" dev "${tag}v0"
  ip -n "${tag}c" addr add "$TFTP_NS_CLIENT_IP/24" dev "${tag}v1"
  ip -n "${tag}s" link set lo up
  ip -n "${tag}c" link set lo up
  ip -n "${tag}s" link set "${tag}v0" up
  ip -n "${tag}c" link set "${tag}v1" up
}

tftp_netns_loss() {
  local tag=$1 pct=$2
  ip netns exec "${tag}s" nft delete table inet bgloss 2>/dev/null || true
  [ "$pct" = 0 ] && return 0
  # tc netem is not available in this kernel; nftables numgen gives independent random drops.
  ip netns exec "${tag}s" nft -f - <<EOF
table inet bgloss {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "${tag}v0" meta l4proto udp numgen random mod 100 < $pct drop
  }
}
EOF
}

tftp_netns_down() {
  local tag=$1
  ip netns del "${tag}s" 2>/dev/null || true
  ip netns del "${tag}c" 2>/dev/null || true
  ip link del "${tag}v0" 2>/dev/null || true
}
