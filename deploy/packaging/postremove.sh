#!/bin/sh
# After removal: systemd forgets the units. The kbulk user, the tenants'
# files in /etc/kapture-bulk and their state in /var/lib/kapture-bulk stay.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
