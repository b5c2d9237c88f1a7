#!/bin/sh
# After install or upgrade: the kbulk user the units run as, and systemd
# told of the units. No timer is enabled: a tenant needs its files first
# (/usr/share/doc/kapture-bulk/README.md).
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers kapture-bulk.conf
elif ! getent passwd kbulk >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/kapture-bulk --shell /usr/sbin/nologin kbulk
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
