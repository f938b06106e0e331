#!/bin/sh
# deb postinst (electron-builder afterInstall): the `strait` group, straitd's
# systemd unit run by the bundled Electron in Node mode, and the service on.
# Idempotent: upgrades run it again.
set -e
APP_DIR=/opt/Strait
RES="$APP_DIR/resources"

# Group `strait`: its members may talk to straitd's socket (DESIGN.md "The helper's socket").
install -D -m 0644 "$RES/linux/strait.sysusers.conf" /usr/lib/sysusers.d/strait.conf
install -D -m 0644 "$RES/linux/strait.tmpfiles.conf" /usr/lib/tmpfiles.d/strait.conf
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/strait.conf
elif ! getent group strait >/dev/null; then
  groupadd --system strait
fi
# The user who installed the package (sudo apt install …) gets access; others: usermod -aG strait <user>.
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  usermod -aG strait "$SUDO_USER" || true
fi

install -D -m 0644 "$RES/linux/straitd.service" /usr/lib/systemd/system/straitd.service
# The unit's ExecStart expects a system node; the package ships Electron, which is Node with
# ELECTRON_RUN_AS_NODE=1. A drop-in points the unit at it (the daemon code is in app.asar).
mkdir -p /usr/lib/systemd/system/straitd.service.d
cat > /usr/lib/systemd/system/straitd.service.d/10-strait-package.conf <<UNIT
[Service]
Environment=ELECTRON_RUN_AS_NODE=1
ExecStart=
ExecStart=$APP_DIR/strait $RES/app.asar/dist/native-helper/src/daemon/main.js --socket /run/strait/straitd.sock --runtime-dir /run/strait --state-dir /var/lib/strait --log-dir /var/log/strait
UNIT

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/strait.conf || true
  systemctl enable straitd.service
  systemctl restart straitd.service || echo "strait: straitd did not start; see: journalctl -u straitd" >&2
fi
exit 0
