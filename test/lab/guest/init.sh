#!/bin/sh
# PID 1 of the lab's User-Mode Linux guest (booted by test/lab/lab.mjs).
# The root file system is the host's / over hostfs, READ-WRITE: everything a
# daemon writes must land on a tmpfs or in the run's state dir ($LAB_STATE,
# passed as a kernel argument), never in /etc, /usr or the repo.
#
# Order: mounts -> modules -> crypto warm-up -> topology -> gateway ->
# one Node process running every requested suite -> exit marker -> poweroff.
export PATH=/run/lab/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/home LANG=C.UTF-8

say() { echo "[lab] $*"; }
stage() { say "stage $1 uptime=$(cut -d' ' -f1 /proc/uptime)"; }

# Appends an infrastructure failure to the results file (same JSON lines as the suite reporter).
lab_fail() {
  say "FAIL $1: $2"
  esc() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
  printf '{"type":"test","suite":"lab","name":"%s","status":"fail","durationMs":0,"details":"%s"}\n' "$(esc "$1")" "$(esc "$2")" >> "$LAB_RESULTS"
}

finish() {
  echo "$1" > "$LAB_EXIT_MARKER"
  stage poweroff
  sync
  poweroff -f -d     # -d: no wtmp record (and /var/log is a tmpfs anyway)
}

# ---------------------------------------------------------------- mounts
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=0755 run /run      # netns, daemons' pidfiles and vici sockets
if [ -z "${LAB_STATE:-}" ] || [ ! -r "$LAB_STATE/lab.env" ]; then
  say "FATAL: LAB_STATE not set or lab.env missing (LAB_STATE='${LAB_STATE:-}')"
  sync; poweroff -f -d
fi
. "$LAB_STATE/lab.env"

# A private, empty /tmp and /var/tmp for the guest. A checkout that lives
# under one of them (CI may clone into /tmp) stays visible: the host's copy
# is held under /run first and the repo bound back over the fresh tmpfs.
private_tmp() { # <name> <dir>
  case "$LAB_REPO/" in
    "$2"/*)
      mkdir -p "/run/lab/host$2" && mount --bind "$2" "/run/lab/host$2"
      mount -t tmpfs -o mode=1777 "$1" "$2"
      mkdir -p "$LAB_REPO" && mount --bind "/run/lab/host$LAB_REPO" "$LAB_REPO"
      ;;
    *) mount -t tmpfs -o mode=1777 "$1" "$2" ;;
  esac
}
private_tmp tmp /tmp
private_tmp vartmp /var/tmp
[ -d /dev/shm ] && mount -t tmpfs -o mode=1777 shm /dev/shm
[ -d /var/lib/strongswan ] && mount -t tmpfs varlibss /var/lib/strongswan
mount -t tmpfs varlog /var/log            # e.g. wtmp: nothing the guest logs may land in the host's /var/log
mkdir -p /run/lock /run/lab/bin "$HOME"
GUEST=$LAB_REPO/test/lab/guest
stage init

# A name server file of our own: a VPN client (strongSwan's resolve plugin,
# later straitd) must never rewrite the host's /etc/resolv.conf through hostfs.
if [ -f /etc/resolv.conf ]; then
  cp /etc/resolv.conf /run/lab/resolv.conf && mount --bind /run/lab/resolv.conf /etc/resolv.conf
else
  say "warning: no /etc/resolv.conf to shadow"
fi

# ---------------------------------------------------------------- modules
# The host has no /lib/modules/<uml version>; modprobe -d finds the UML
# modules through a tmpfs tree. The kernel's own module requests (crypto
# templates, nft expressions) and xtables go through /proc/sys/kernel/modprobe,
# tools through PATH: both reach this wrapper.
KVER=$(uname -r)
mkdir -p /run/lab/modroot/lib/modules
ln -s "/usr/lib/uml/modules/$KVER" "/run/lab/modroot/lib/modules/$KVER"
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/lab/modroot "$@"\n' > /run/lab/bin/modprobe
chmod 755 /run/lab/bin/modprobe
echo /run/lab/bin/modprobe > /proc/sys/kernel/modprobe

MODULES="esp4 esp6 xfrm_user xfrm_algo authenc gcm ccm ctr ghash-generic seqiv echainiv chacha20poly1305 cbc aes sha256 sha512 hmac
veth tun dummy xfrm4_tunnel xfrm6_tunnel tunnel4 tunnel6 nf_tables nft_masq nft_nat nf_nat nft_numgen sch_netem ipv6"
# shellcheck disable=SC2086 # word splitting wanted
missing=$(modprobe -a $MODULES 2>&1 | sed -n 's/.*Module \([^ ]*\) not found.*/\1/p' | tr '\n' ' ')
[ -n "$missing" ] && say "modules not available in this UML kernel: $missing"
stage modules

# ---------------------------------------------------------------- crypto warm-up
# The first XFRM state of each algorithm makes the kernel build its crypto
# templates (and request modules for them), which takes seconds under UML
# and would land in the first connect. Add and delete one dummy state per AEAD/cipher.
warm() {
  t=$(date +%s%N)
  ip xfrm state add src 203.0.113.1 dst 203.0.113.2 proto esp spi 0x100 mode tunnel "$@" &&
    ip xfrm state delete src 203.0.113.1 dst 203.0.113.2 proto esp spi 0x100 &&
    say "warm-up $2 $(( ($(date +%s%N) - t) / 1000000 )) ms"
}
K16=0x000102030405060708090a0b0c0d0e0f
K32=${K16}101112131415161718191a1b1c1d1e1f
warm aead 'rfc4106(gcm(aes))' "${K32}00010203" 128 || say "warning: gcm(aes)-256 warm-up failed"
warm aead 'rfc4106(gcm(aes))' "${K16}00010203" 128 || say "warning: gcm(aes)-128 warm-up failed"
warm aead 'rfc7539esp(chacha20,poly1305)' "${K32}00010203" 128 || say "warning: chacha20poly1305 warm-up failed"
warm enc 'cbc(aes)' "$K32" auth-trunc 'hmac(sha256)' "$K32" 128 || say "warning: cbc(aes)/hmac(sha256) warm-up failed"
stage crypto

# ---------------------------------------------------------------- topology + gateway
if ! out=$(sh "$GUEST/net.sh" build 2>&1); then
  lab_fail "topology" "building namespaces failed: $out"; finish 1
fi
stage topology
if ! why=$(sh "$GUEST/net.sh" check 2>&1); then
  lab_fail "LAN unreachable from client before any tunnel" "$why"; finish 1
fi
stage guard
if ! why=$(sh "$GUEST/gateway.sh" start 2>&1); then
  lab_fail "strongSwan gateway" "$why"; finish 1
fi
stage gateway

# ---------------------------------------------------------------- suites
# One Node process for all suites: Node needs seconds to start under UML.
stage runner
if [ "${LAB_SKIP_SUITES:-0}" = 1 ]; then   # run-lab.mjs --e2e-only: the desktop e2e stage alone
  say "suites skipped (--e2e-only)"; rc=0
else
  ip netns exec "$TOPO_NETNS_CLIENT" "$LAB_NODE" \
    --test-reporter="$GUEST/reporter.mjs" --test-reporter-destination=stdout \
    "$GUEST/run-suites.mjs" < /dev/null
  rc=$?
fi
stage suites-done
say "runner exit $rc"

# ---------------------------------------------------------------- desktop e2e (run-lab.mjs --e2e)
# The host's Chromium + desktop handler module drive a real straitd here,
# against the gateway above, through eth0 (a TAP device in a host netns):
# eth0 goes into its own netns so it never touches the lab's routing.
if [ "${LAB_E2E:-0}" = 1 ]; then
  stage e2e
  if ! why=$({ ip netns add "$LAB_E2E_NETNS" && ip link set eth0 netns "$LAB_E2E_NETNS" &&
      ip -n "$LAB_E2E_NETNS" link set lo up &&
      ip -n "$LAB_E2E_NETNS" addr add "$LAB_E2E_GUEST_IP/24" dev eth0 &&
      ip -n "$LAB_E2E_NETNS" link set eth0 up; } 2>&1); then
    lab_fail "e2e link (guest eth0)" "$why"
  elif ! ip netns exec "$TOPO_NETNS_CLIENT" "$LAB_NODE" "$GUEST/e2e-serve.mjs" < /dev/null; then
    lab_fail "e2e stage" "straitd or the relay for the host's desktop e2e failed (console above)"
  fi
  stage e2e-done
fi

sh "$GUEST/gateway.sh" stop
dmesg > "$LAB_LOG_DIR/dmesg.txt" 2>/dev/null
finish "$rc"
