#!/bin/sh
# Runs a command under a private D-Bus session with a real, unlocked
# gnome-keyring Secret Service (no display needed), so keychain tests talk to
# the real thing instead of a mock. A fresh keyring directory per run, removed
# afterwards; the keyring daemon is stopped by its pid when the command ends.
# Recipe: /work/shared/LAB.md, research/DEPENDENCIES.md §1.
#
#   sh test/keychain/with-secret-service.sh node --test dist/test/unit/**/*.test.js
#   sh test/keychain/with-secret-service.sh npx tsx --test test/unit/keychain/*.test.ts
#
# Exit status: the command's. Needs the Debian packages gnome-keyring and dbus.
set -eu
if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$0: $tool not found (apt-get install dbus gnome-keyring)" >&2
    exit 127
  fi
done
STRAIT_KEYRING_DIR="$(mktemp -d "${TMPDIR:-/tmp}/strait-keyring.XXXXXX")"
export XDG_DATA_HOME="$STRAIT_KEYRING_DIR"
export STRAIT_KEYRING_DIR
rc=0
dbus-run-session -- sh -c '
  # A throwaway password for this private keyring, on stdin (never argv):
  # --unlock creates and unlocks the login collection with it; without
  # --unlock the daemon would ask gcr-prompter, which needs a display.
  # --foreground keeps the daemon our child, so we can stop it by pid (a
  # daemonised gnome-keyring outlives dbus-run-session).
  head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n" |
    gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
  keyring_pid=$!
  # Wait until it owns org.freedesktop.secrets; otherwise D-Bus activation
  # would start a second, locked daemon for the first client.
  tries=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then echo "with-secret-service: gnome-keyring-daemon did not start" >&2; kill "$keyring_pid" 2>/dev/null; exit 125; fi
    sleep 0.1
  done
  rc=0
  "$@" || rc=$?
  kill "$keyring_pid" 2>/dev/null || true
  wait "$keyring_pid" 2>/dev/null || true
  exit "$rc"' sh "$@" || rc=$?
# The daemon is gone, but be tolerant of a slow flush: a leftover directory
# must not turn a passing run into a failure.
for _ in 1 2 3 4 5; do
  rm -rf "$STRAIT_KEYRING_DIR" 2>/dev/null && break
  sleep 0.2
done
exit "$rc"
