#!/bin/sh
# scripts/packages.sh VERSION: the .deb and .rpm of each Linux binary in
# dist/ (make release), with nfpm (deploy/packaging/nfpm.yaml) run as
# $NFPM, and the man page dist/kapture-bulk.1 gzipped into them.
set -eu
cd "$(dirname "$0")/.."
version=$1
: "${NFPM:?set NFPM to the nfpm command (the Makefile pins it)}"

# pkg_version turns a git describe into a version dpkg and rpm order as
# releases come: v1.2.0 -> 1.2.0; v1.2.0-3-gabc1234-dirty (commits after
# a tag) -> 1.2.0+3.gabc1234.dirty; v1.3.0-rc.1 -> 1.3.0~rc.1 (before
# 1.3.0); a commit with no tag behind it -> 0.0.0+git.abc1234.
pkg_version() {
	v=${1#v}
	case $v in
	[0-9]*.[0-9]*.[0-9]*)
		core=$(printf '%s\n' "$v" | sed 's/^\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/')
		rest=${v#"$core"}
		;;
	*) core=0.0.0 rest=+git.$v ;;
	esac
	case $rest in
	'' | +*) ;;
	-[0-9]*-g* | -dirty) rest=+${rest#-} ;;
	-*) rest=~${rest#-} ;;
	*) rest=+$rest ;;
	esac
	printf '%s%s\n' "$core" "$(printf '%s' "$rest" | tr -c 'A-Za-z0-9.+~' '.')"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gzip -9 -n -c dist/kapture-bulk.1 >"$tmp/kapture-bulk.1.gz"
pkgver=$(pkg_version "$version")
for bin in dist/kapture-bulk-"$version"-linux-*; do
	arch=${bin##*-linux-}
	# nfpm expands no variables in file paths: fill in the recipe.
	sed -e "s|\${ARCH}|$arch|; s|\${PKG_VERSION}|$pkgver|; s|\${BIN}|$bin|; s|\${MAN}|$tmp/kapture-bulk.1.gz|" \
		deploy/packaging/nfpm.yaml >"$tmp/nfpm-$arch.yaml"
	for packager in deb rpm; do
		$NFPM package --config "$tmp/nfpm-$arch.yaml" --packager "$packager" --target dist/
	done
done
