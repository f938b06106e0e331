#!/bin/sh
# deb postrm (electron-builder afterRemove): stop straitd (it tears its tunnel
# down on SIGTERM) and remove what after-install.sh put in place. The group
# and /var/log/strait stay on remove; purge removes the logs too.
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now straitd.service 2>/dev/null || true
fi
rm -f /usr/lib/systemd/system/straitd.service.d/10-strait-package.conf
rmdir /usr/lib/systemd/system/straitd.service.d 2>/dev/null || true
rm -f /usr/lib/systemd/system/straitd.service /usr/lib/tmpfiles.d/strait.conf
[ -d /run/systemd/system ] && systemctl daemon-reload || true
if [ "$1" = purge ]; then
  rm -rf /var/log/strait /var/lib/strait
  rm -f /usr/lib/sysusers.d/strait.conf
fi
exit 0
