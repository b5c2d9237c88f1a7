#!/bin/sh
# scripts/check-deploy.sh BIN (make check-deploy): deploy/'s files checked
# by the real tools. Any warning fails.
#   - shellcheck: the nightly wrapper, the package scripts, scripts/*.sh;
#   - mandoc: the man page generated from BIN's help;
#   - systemd-analyze verify: each unit, as an instance, in a temporary
#     root that holds the commands at the paths systemd searches and the
#     man page its Documentation= names;
#   - systemd-sysusers: the user the units run as, created in that root;
#   - deploy/k8scheck (its own module): the Kubernetes objects decoded
#     strictly into the API types, and the token mount tried as the pod.
set -eu
cd "$(dirname "$0")/.."
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "check-deploy: shellcheck"
shellcheck -s sh deploy/cron/kapture-bulk-nightly deploy/packaging/*.sh scripts/*.sh

echo "check-deploy: man page"
mkdir -p "$tmp/man/man1"
go run ./scripts/genman -bin "$bin" -o "$tmp/man/man1/kapture-bulk.1"
mandoc -T lint -W warning "$tmp/man/man1/kapture-bulk.1"

echo "check-deploy: systemd units"
root=$tmp/root
mkdir -p "$root/etc/systemd/system" "$root/usr/bin" "$root/usr/lib/systemd" "$root/usr/lib/sysusers.d"
cp -R /usr/lib/systemd/system "$root/usr/lib/systemd/" # the targets the units name
cp deploy/systemd/*@.service deploy/systemd/*@.timer "$root/etc/systemd/system/"
cp "$bin" "$root/usr/bin/kapture-bulk"
cp deploy/cron/kapture-bulk-nightly "$root/usr/bin/"
for unit in kapture-bulk-sync@acme.service kapture-bulk-sync@acme.timer \
	kapture-bulk-full@acme.service kapture-bulk-full@acme.timer; do
	out=$(MANPATH=$tmp/man systemd-analyze verify --root="$root" "$unit" 2>&1) || {
		printf '%s\n' "$out" >&2
		exit 1
	}
	if [ -n "$out" ]; then
		printf '%s: %s\n' "$unit" "$out" >&2
		exit 1
	fi
done
mkdir -p "$root/etc"
cp deploy/systemd/kapture-bulk.sysusers "$root/usr/lib/sysusers.d/kapture-bulk.conf"
systemd-sysusers --root="$root" kapture-bulk.conf >/dev/null 2>&1
grep -q '^kbulk:' "$root/etc/passwd"

echo "check-deploy: Kubernetes objects"
cd deploy/k8scheck
go vet ./...
KAPTURE_BULK_BIN=$bin go test -count=1 ./...
