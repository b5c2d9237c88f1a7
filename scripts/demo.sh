#!/bin/sh
# make demo: start the built-in mock Kapture API on a free loopback port,
# then walk a sample migration against it: run with a backup, verify,
# undo (with a names file for the names no reply showed), and run the
# undo; stop the mock. The mock's workflow silently
# keeps the old sub-status of some updates (--keep-sub-status), so a row
# that was not applied shows. Everything is written in a temporary
# folder: the checkout stays clean.
set -eu
bin=${1:-bin/kapture-bulk}
case $bin in
*/*) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;; # the demo works in another folder
esac
sample=$(pwd)/samples/status-migration.csv
# The mock accepts the token the commands send.
export KAPTURE_API_TOKEN=demo-token
dir=$(mktemp -d "${TMPDIR:-/tmp}/kapture-demo.XXXXXX")
# The seed picks which updates the workflow keeps: with 19, one of the
# sample's sub-status changes is not applied.
"$bin" mock --addr 127.0.0.1:0 --url-file "$dir/url" --keep-sub-status 0.05 --seed 19 2>"$dir/mock.log" &
mock=$!
trap 'kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true; rm -rf "$dir"' EXIT
i=0
while [ ! -s "$dir/url" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then echo "demo: the mock did not start:" >&2; cat "$dir/mock.log" >&2; exit 1; fi
	sleep 0.1
done
url=$(cat "$dir/url")
cd "$dir"
cp "$sample" migration.csv
echo "demo: mock Kapture API at $url; files in $dir (removed at the end)"

worst=0
# step runs kapture-bulk with the words it prints: the command shown is
# the command run. Exit 0 and 1 (rows failed, tickets differ) are results
# to read; anything higher stops the demo.
step() {
	echo
	echo "demo: \$ kapture-bulk $*"
	set +e
	"$bin" "$@"
	code=$?
	set -e
	echo "demo: exit code $code"
	[ "$code" -le 1 ] || exit "$code"
	[ "$code" -le "$worst" ] || worst=$code
}
show() {
	echo "demo: $1:"
	cat "$1"
}

echo
echo "demo: 1. run, reading each ticket before its first update into a backup"
step run --base-url "$url" --rate 20 --backup backup.csv migration.csv
show migration.results.csv
echo "(exit 1: some rows were invalid or failed; a 'not applied' row is one the workflow refused though the reply said success)"
echo
echo "demo: 2. verify: read every ticket back and hold it against its row"
step verify --base-url "$url" --rate 20 --results migration.results.csv --out verify.csv --differs fix.csv migration.csv
show fix.csv
echo
echo "demo: 3. undo: an input that puts back what the backup found"
step undo --snapshot backup.csv --results migration.results.csv --out restore.csv
echo
echo "demo: the tenant's keys are the mock's (kapture-bulk mock --help); \"Others\" is a name of two keys, told apart by the status:"
printf 'kind,key,name,parent\nsub_status,PO,Others,P\nsub_status,CO,Others,C\n' >names.csv
show names.csv
step undo --snapshot backup.csv --results migration.results.csv --names names.csv --out restore.csv
show restore.csv
echo
echo "demo: 4. run the undo"
step run --base-url "$url" --rate 20 restore.csv
kill "$mock"
wait "$mock" 2>/dev/null || true
echo
echo "demo: what the mock received:"
cat mock.log
[ "$worst" -le 1 ]
