#!/usr/bin/env bash
# conformance.sh: run Go standard-library package tests built for
# GOOS=wasip1 GOARCH=wasm through `go test -exec`, with isle's shipped
# wrapper (cmd/isle-go-exec) as the runner and, for comparison, wazero's
# command line as go_wasip1_wasm_exec runs it.
#
#   scripts/conformance.sh [-r isle|wazero|both] [-o RESULTS] [PACKAGE...]
#
# Each runner gets what $(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec gives
# the known runtimes: the test binary (named pkg.test, no .wasm suffix), its
# -test.* flags, the host's root directory preopened as "/", and the
# environment with PWD. Tests run with -short and one package at a time.
# Prints one line per package and runtime (PASS, FAIL, TIMEOUT or ERROR), then a
# summary; every package that passes under wazero must pass under isle, or
# the script exits 1. Logs go to RESULTS (default: a temporary directory).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

runtimes=both
out=""
while getopts "r:o:" opt; do
	case $opt in
	r) runtimes=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-r isle|wazero|both] [-o RESULTS] [PACKAGE...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(
		os io/fs io path/filepath path bufio bytes strings strconv sort slices
		regexp time encoding/json encoding/binary encoding/base64 encoding/hex
		encoding/csv encoding/xml compress/gzip compress/flate compress/zlib
		archive/tar archive/zip crypto/sha256 crypto/aes crypto/hmac hash/crc32
		text/template unicode/utf8 container/list testing/fstest mime
	)
fi

[ -n "$out" ] || out=$(mktemp -d /tmp/isle-conformance.XXXXXX)
mkdir -p "$out"
bin="$out/bin"
mkdir -p "$bin"

echo "building isle-go-exec" >&2
go build -o "$bin/isle-exec" ./cmd/isle-go-exec || exit 1

if [ "$runtimes" != isle ]; then
	if ! command -v wazero >/dev/null && [ ! -x "$bin/wazero" ]; then
		echo "installing wazero v1.12.0" >&2
		GOBIN="$bin" go install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0 || exit 1
	fi
	wz=$(command -v wazero || echo "$bin/wazero")
	[ -x "$bin/wazero" ] && wz="$bin/wazero"
	cat > "$bin/wazero-exec" <<EOX
#!/bin/sh
exec "$wz" run -mount /:/ -env-inherit -cachedir "\${TMPDIR:-/tmp}/wazero" "\$@"
EOX
	chmod +x "$bin/wazero-exec"
fi

case $runtimes in
both) rts=(wazero isle) ;;
*) rts=("$runtimes") ;;
esac

cd "$out" || exit 1 # go test needs a working directory; the packages come from GOROOT
declare -A result
for pkg in "${pkgs[@]}"; do
	for rt in "${rts[@]}"; do
		log="$out/$(echo "$pkg" | tr / _).$rt.log"
		GOOS=wasip1 GOARCH=wasm timeout 600 go test -p 1 -count=1 -short -timeout 480s \
			-exec "$bin/$rt-exec" "$pkg" >"$log" 2>&1
		rc=$?
		r=FAIL
		if [ $rc -eq 0 ]; then
			r=PASS
		elif [ $rc -eq 124 ] || grep -q "test timed out" "$log"; then
			r=TIMEOUT
		elif ! grep -q "^FAIL" "$log"; then
			r=ERROR # the test binary was not built or not run
		fi
		result[$pkg.$rt]=$r
		printf '%-20s %-7s %s\n' "$pkg" "$rt" "$r"
	done
done

status=0
for rt in "${rts[@]}"; do
	n=0
	for pkg in "${pkgs[@]}"; do
		[ "${result[$pkg.$rt]}" = PASS ] && n=$((n + 1))
	done
	echo "$rt: $n of ${#pkgs[@]} packages pass"
done
if [ ${#rts[@]} -eq 2 ]; then
	for pkg in "${pkgs[@]}"; do
		if [ "${result[$pkg.wazero]}" = PASS ] && [ "${result[$pkg.isle]}" != PASS ]; then
			echo "passes under wazero, not under isle: $pkg (log: $out/$(echo "$pkg" | tr / _).isle.log)"
			status=1
		fi
	done
fi
echo "logs: $out"
exit $status
