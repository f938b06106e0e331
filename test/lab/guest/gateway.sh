#!/bin/sh
# The strongSwan gateway (Debian's charon + swanctl) in netns gw, inside UML.
#
#   gateway.sh start    start charon, wait for its vici socket, load all config
#   gateway.sh start F  the same with strongswan.conf F (settings charon reads only
#                       at start, e.g. cookie_threshold for one ike-interop case)
#   gateway.sh stop     stop charon (its filelog is flushed per line anyway)
#   gateway.sh reload   swanctl --load-all again (after editing the config)
#
# charon's pidfile (/run/charon.pid) is fixed at build time, so each charon
# gets a private /run: `ip netns exec` gives it its own mount namespace, in
# which /run/lab/<role> (guest tmpfs) is bound over /run. Seen from the rest
# of the guest, the vici socket is /run/lab/gw/charon.vici.
set -u
. "$LAB_STATE/lab.env"

RUN=$LAB_RUN_DIR/gw

swanctl_gw() {
  c=$1; shift
  SWANCTL_DIR=$LAB_GW_SWANCTL_DIR STRONGSWAN_CONF=$LAB_GW_CONF swanctl "$c" --uri "unix://$RUN/charon.vici" "$@"
}

start() {
  mkdir -p "$RUN" && rm -f "$RUN"/*
  # shellcheck disable=SC2016 # expanded by the inner shell
  ip netns exec "$TOPO_NETNS_GW" sh -c 'mount --bind "$1" /run && exec env STRONGSWAN_CONF="$2" /usr/lib/ipsec/charon' \
    sh "$RUN" "${1:-$LAB_GW_CONF}" >> "$LAB_LOG_DIR/charon-gw.stdout" 2>&1 &
  i=0
  while [ ! -S "$RUN/charon.vici" ]; do
    i=$((i + 1)); [ $i -gt 200 ] && { echo "gateway: no vici socket after 20 s (see $LAB_LOG_DIR/charon-gw.stdout)"; return 1; }
    sleep 0.1
  done
  swanctl_gw --load-all --noprompt > "$LAB_LOG_DIR/swanctl-gw-load.txt" 2>&1 ||
    { echo "gateway: swanctl --load-all failed: $(tail -n 2 "$LAB_LOG_DIR/swanctl-gw-load.txt" | tr '\n' ' ')"; return 1; }
}

stop() {
  p=$(cat "$RUN/charon.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null
  i=0
  while [ -e "$RUN/charon.pid" ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
  [ -e "$RUN/charon.pid" ] && kill -9 "$p" 2>/dev/null
  return 0
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  reload) swanctl_gw --load-all --noprompt ;;
  *) echo "usage: gateway.sh start|stop|reload" >&2; exit 2 ;;
esac
