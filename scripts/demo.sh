#!/bin/sh
# make demo: start the built-in mock Kapture API on a free loopback port,
# run a sample migration against it, show the results, stop the mock.
set -eu
bin=${1:-bin/kapture-bulk}
# The mock accepts the token the run sends.
export KAPTURE_API_TOKEN=demo-token
dir=$(mktemp -d "${TMPDIR:-/tmp}/kapture-demo.XXXXXX")
"$bin" mock --addr 127.0.0.1:0 --url-file "$dir/url" 2>"$dir/mock.log" &
mock=$!
trap 'kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true' EXIT
i=0
while [ ! -s "$dir/url" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then echo "demo: the mock did not start:" >&2; cat "$dir/mock.log" >&2; exit 1; fi
	sleep 0.1
done
url=$(cat "$dir/url")
results=samples/status-migration.results.csv
echo "demo: mock Kapture API at $url"
# The command shown is the command run: both come from the same words.
set -- run --base-url "$url" --overwrite --rate 20 samples/status-migration.csv
echo "demo: kapture-bulk $*"
set +e
"$bin" "$@"
code=$?
set -e
echo "demo: exit code $code (1 = finished, some rows failed or were invalid: see the results)"
echo "demo: $results:"
cat "$results"
kill "$mock"
wait "$mock" 2>/dev/null || true
trap - EXIT
echo "demo: what the mock received:"
cat "$dir/mock.log"
rm -rf "$dir"
[ "$code" -le 1 ]
