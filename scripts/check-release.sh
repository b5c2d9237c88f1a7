#!/bin/sh
# scripts/check-release.sh VERSION (make check-release): dist/ as make
# release leaves it. SHA256SUMS covers every file and matches; each .deb
# holds the binary (which runs and says VERSION, on this machine's arch),
# the nightly wrapper, the systemd units, the sysusers file and the man
# page; so does each .rpm, where rpm is installed.
set -eu
cd "$(dirname "$0")/../dist"
version=$1
fail() {
	echo "check-release: $*" >&2
	exit 1
}

for f in *; do
	[ "$f" = SHA256SUMS ] || grep -q "  $f\$" SHA256SUMS || fail "SHA256SUMS lacks $f"
done
sha256sum -c --quiet SHA256SUMS

want='./usr/bin/kapture-bulk
./usr/bin/kapture-bulk-nightly
./usr/lib/systemd/system/kapture-bulk-sync@.service
./usr/lib/systemd/system/kapture-bulk-sync@.timer
./usr/lib/systemd/system/kapture-bulk-full@.service
./usr/lib/systemd/system/kapture-bulk-full@.timer
./usr/lib/sysusers.d/kapture-bulk.conf
./usr/share/man/man1/kapture-bulk.1.gz'
n=0
for deb in *.deb; do
	[ -e "$deb" ] || fail "no .deb in dist/"
	n=$((n + 1))
	dpkg-deb --info "$deb"
	contents=$(dpkg-deb --contents "$deb" | awk '{ print $NF }')
	printf '%s\n' "$want" | while read -r path; do
		printf '%s\n' "$contents" | grep -qx "$path" || fail "$deb lacks $path"
	done
	if [ "$(dpkg-deb --field "$deb" Architecture)" = "$(dpkg --print-architecture)" ]; then
		x=$(mktemp -d)
		dpkg-deb --extract "$deb" "$x"
		"$x/usr/bin/kapture-bulk" version | grep -qF "kapture-bulk $version " || fail "$deb: its binary is not $version"
		zcat "$x/usr/share/man/man1/kapture-bulk.1.gz" | grep -q '^\.SS "kapture\\-bulk run"' || fail "$deb: the man page has no run"
		rm -rf "$x"
	fi
done
[ "$n" -ge 1 ] || fail "no .deb in dist/"
ls ./*.rpm >/dev/null 2>&1 || fail "no .rpm in dist/"
if command -v rpm >/dev/null 2>&1; then
	for r in *.rpm; do
		list=$(rpm -qlp "$r")
		printf '%s\n' "$want" | sed 's/^\.//' | while read -r path; do
			printf '%s\n' "$list" | grep -qx "$path" || fail "$r lacks $path"
		done
	done
fi
echo "check-release: dist/ holds $n .deb, SHA256SUMS covers every file"
