#!/bin/sh
# Lab network inside the UML guest (addresses: $LAB_STATE/lab.env, generated
# from test/lab/support/topology.json).
#
#   net.sh build      create netns client/gw/lan, veth pairs, addresses, routes
#   net.sh guard on   forbid clear forwarding client -> LAN on the gateway (default)
#   net.sh guard off  allow it (plain-routing baselines)
#   net.sh check      LAN unreachable from client in clear, while the path exists
#   net.sh nat up|down  a NAT router (netns nat, iptables-legacy MASQUERADE)
#                     between a second client interface and the gateway;
#                     built on demand by the network suite, never by build
#
# The guard is an XFRM "block" policy in the gateway's fwd direction with the
# lowest priority (largest number): packets that an IPsec SA decapsulated
# match charon's own fwd policy (higher priority, with an ESP template) and
# pass; clear packets from the client to the LAN match only the block.
# (nftables cannot do this here: Debian's UML kernel has nf_tables for the
# bridge family only, no ip/ip6/inet.)
set -u
. "$LAB_STATE/lab.env"

GUARD_PRIO=4294967000

build() {
  for ns in $TOPO_NETNS_CLIENT $TOPO_NETNS_GW $TOPO_NETNS_LAN; do
    ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
  done
  # client <-> gw ("internet"), gw <-> lan (protected network)
  ip link add "$TOPO_CLIENT_IFACE" netns "$TOPO_NETNS_CLIENT" type veth peer name "$TOPO_GW_OUTSIDE_IFACE" netns "$TOPO_NETNS_GW" || return 1
  ip link add "$TOPO_GW_INSIDE_IFACE" netns "$TOPO_NETNS_GW" type veth peer name "$TOPO_LAN_IFACE" netns "$TOPO_NETNS_LAN" || return 1

  c="ip -n $TOPO_NETNS_CLIENT"; g="ip -n $TOPO_NETNS_GW"; l="ip -n $TOPO_NETNS_LAN"
  # nodad: no 1-2 s wait for IPv6 duplicate address detection on a private link
  $c addr add "$TOPO_CLIENT_IPV4/$TOPO_CLIENT_PREFIX4" dev "$TOPO_CLIENT_IFACE" &&
  $c addr add "$TOPO_CLIENT_IPV6/$TOPO_CLIENT_PREFIX6" dev "$TOPO_CLIENT_IFACE" nodad &&
  $c link set "$TOPO_CLIENT_IFACE" up &&
  $c route add default via "$TOPO_CLIENT_DEFAULT_VIA4" &&
  $c -6 route add default via "$TOPO_CLIENT_DEFAULT_VIA6" || return 1

  for a in $TOPO_GW_OUTSIDE4; do $g addr add "$a/$TOPO_GW_PREFIX4" dev "$TOPO_GW_OUTSIDE_IFACE" || return 1; done
  $g addr add "$TOPO_GW_OUTSIDE6/$TOPO_GW_PREFIX6" dev "$TOPO_GW_OUTSIDE_IFACE" nodad &&
  $g addr add "$TOPO_GW_INSIDE4/$TOPO_GW_PREFIX4" dev "$TOPO_GW_INSIDE_IFACE" &&
  $g addr add "$TOPO_GW_INSIDE6/$TOPO_GW_PREFIX6" dev "$TOPO_GW_INSIDE_IFACE" nodad &&
  $g link set "$TOPO_GW_OUTSIDE_IFACE" up && $g link set "$TOPO_GW_INSIDE_IFACE" up || return 1
  ip netns exec "$TOPO_NETNS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1

  $l addr add "$TOPO_LAN_IPV4/$TOPO_LAN_PREFIX4" dev "$TOPO_LAN_IFACE" &&
  $l addr add "$TOPO_LAN_IPV6/$TOPO_LAN_PREFIX6" dev "$TOPO_LAN_IFACE" nodad &&
  $l link set "$TOPO_LAN_IFACE" up &&
  $l route add default via "$TOPO_LAN_DEFAULT_VIA4" &&
  $l -6 route add default via "$TOPO_LAN_DEFAULT_VIA6" || return 1
  guard on
}

guard() {
  g="ip -n $TOPO_NETNS_GW"
  case "$1" in
    on)   # update = add or replace: idempotent
      $g xfrm policy update dir fwd src 0.0.0.0/0 dst "$TOPO_LAN_SUBNET4" action block priority $GUARD_PRIO &&
      $g xfrm policy update dir fwd src ::/0 dst "$TOPO_LAN_SUBNET6" action block priority $GUARD_PRIO ;;
    off)
      for sel in "0.0.0.0/0 $TOPO_LAN_SUBNET4" "::/0 $TOPO_LAN_SUBNET6"; do
        set -- $sel
        if $g xfrm policy get dir fwd src "$1" dst "$2" >/dev/null 2>&1; then
          $g xfrm policy delete dir fwd src "$1" dst "$2" || return 1
        fi
      done ;;
    *) echo "usage: net.sh guard on|off" >&2; return 2 ;;
  esac
}

# client cl1 192.168.50.2 -- nat1 | nat nat0 (MASQUERADE) -- gw2 203.0.113.1.
# Only packets from the client's 192.168.50.2 take this path (policy rule),
# so the direct client<->gw path of every other suite stays as it is.
nat() {
  c="ip -n $TOPO_NETNS_CLIENT"; g="ip -n $TOPO_NETNS_GW"; n="ip -n $TOPO_NAT_NETNS"
  case "$1" in
    up)
      ip netns add "$TOPO_NAT_NETNS" && $n link set lo up &&
      ip link add "$TOPO_NAT_CLIENT_IFACE" netns "$TOPO_NETNS_CLIENT" type veth peer name "$TOPO_NAT_INSIDE_IFACE" netns "$TOPO_NAT_NETNS" &&
      ip link add "$TOPO_NAT_GW_IFACE" netns "$TOPO_NETNS_GW" type veth peer name "$TOPO_NAT_OUTSIDE_IFACE" netns "$TOPO_NAT_NETNS" &&
      $c addr add "$TOPO_NAT_CLIENT4/$TOPO_NAT_PREFIX4" dev "$TOPO_NAT_CLIENT_IFACE" && $c link set "$TOPO_NAT_CLIENT_IFACE" up &&
      $n addr add "$TOPO_NAT_INSIDE4/$TOPO_NAT_PREFIX4" dev "$TOPO_NAT_INSIDE_IFACE" && $n link set "$TOPO_NAT_INSIDE_IFACE" up &&
      $n addr add "$TOPO_NAT_OUTSIDE4/$TOPO_NAT_PREFIX4" dev "$TOPO_NAT_OUTSIDE_IFACE" && $n link set "$TOPO_NAT_OUTSIDE_IFACE" up &&
      $g addr add "$TOPO_NAT_GW4/$TOPO_NAT_PREFIX4" dev "$TOPO_NAT_GW_IFACE" && $g link set "$TOPO_NAT_GW_IFACE" up &&
      $n route add default via "$TOPO_NAT_GW4" &&
      $c route add default via "$TOPO_NAT_INSIDE4" dev "$TOPO_NAT_CLIENT_IFACE" table "$TOPO_NAT_CLIENT_TABLE" &&
      $c rule add from "$TOPO_NAT_CLIENT4" lookup "$TOPO_NAT_CLIENT_TABLE" pref "$TOPO_NAT_CLIENT_RULE_PREF" || return 1
      # replies and decapsulated packets arrive on cl1 while the main table points at cl0
      ip netns exec "$TOPO_NETNS_CLIENT" sysctl -qw net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$TOPO_NAT_CLIENT_IFACE.rp_filter=0" &&
      ip netns exec "$TOPO_NAT_NETNS" sysctl -qw net.ipv4.ip_forward=1 &&
      # a home router: new source address and (--random) new source ports
      ip netns exec "$TOPO_NAT_NETNS" iptables-legacy -w 5 -t nat -A POSTROUTING -o "$TOPO_NAT_OUTSIDE_IFACE" -j MASQUERADE --random ;;
    down)
      $c rule del from "$TOPO_NAT_CLIENT4" lookup "$TOPO_NAT_CLIENT_TABLE" pref "$TOPO_NAT_CLIENT_RULE_PREF" 2>/dev/null
      $c route flush table "$TOPO_NAT_CLIENT_TABLE" 2>/dev/null
      $c link del "$TOPO_NAT_CLIENT_IFACE" 2>/dev/null
      $g link del "$TOPO_NAT_GW_IFACE" 2>/dev/null
      ip netns del "$TOPO_NAT_NETNS" 2>/dev/null
      return 0 ;;
    *) echo "usage: net.sh nat up|down" >&2; return 2 ;;
  esac
}

# Prints what is wrong (one line) and fails, or succeeds silently.
check() {
  x="ip netns exec"
  $x "$TOPO_NETNS_GW" ping -c1 -W2 "$TOPO_LAN_IPV4" >/dev/null 2>&1 || { echo "gw cannot reach $TOPO_LAN_IPV4"; return 1; }
  $x "$TOPO_NETNS_GW" ping -6 -c1 -W2 "$TOPO_LAN_IPV6" >/dev/null 2>&1 || { echo "gw cannot reach $TOPO_LAN_IPV6"; return 1; }
  for a in $TOPO_GW_OUTSIDE4; do
    $x "$TOPO_NETNS_CLIENT" ping -c1 -W2 "$a" >/dev/null 2>&1 || { echo "client cannot reach $a"; return 1; }
  done
  $x "$TOPO_NETNS_CLIENT" ping -6 -c1 -W2 "$TOPO_GW_OUTSIDE6" >/dev/null 2>&1 || { echo "client cannot reach $TOPO_GW_OUTSIDE6"; return 1; }
  # Both negative probes at once: each waits its full second when the guard works.
  $x "$TOPO_NETNS_CLIENT" ping -c1 -W1 "$TOPO_LAN_IPV4" >/dev/null 2>&1 & p4=$!
  $x "$TOPO_NETNS_CLIENT" ping -6 -c1 -W1 "$TOPO_LAN_IPV6" >/dev/null 2>&1 & p6=$!
  if wait $p4; then echo "LAN $TOPO_LAN_IPV4 reachable from client without a tunnel"; wait $p6; return 1; fi
  if wait $p6; then echo "LAN $TOPO_LAN_IPV6 reachable from client without a tunnel"; return 1; fi
  return 0
}

cmd=${1:-}; [ $# -gt 0 ] && shift
case "$cmd" in
  build) build ;;
  guard) guard "${1:-}" ;;
  check) check ;;
  nat) nat "${1:-}" ;;
  *) echo "usage: net.sh build | guard on|off | check | nat up|down" >&2; exit 2 ;;
esac
