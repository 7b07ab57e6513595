#!/usr/bin/env bash
# scripts/benchcmp.sh REV [SUITE...]: isle bench's suites with REV's harness
# beside this tree's, side by side in one run. It builds bench/cmd/bench
# from REV (into a temporary directory) and from the working tree, runs
# each suite's --json with the old and the new build alternately (A B A B,
# ISLE_BENCHCMP_ROUNDS rounds of each, default 2, at least 2), and prints,
# through bench/cmd/benchcmp, each row's old and new figure (the median of
# its rounds), new/old, and whether a speed row got worse or better beyond
# the noise between rounds. Exit status: 0 when no speed row got worse, 1
# when one did, 2 on a usage error or a failed run.
#
# Without SUITE, every suite the working tree's harness lists. A suite the
# old build lacks is reported and skipped. ISLE_BENCHCMP_OUT=DIR keeps the
# rounds' JSON and logs there (DIR/SUITE.old.N.json, .new.N.json, .log).
# A suite that runs the isle command (startup: isle in PATH) gets each
# side's own: cmd/isle is built from REV and from the working tree, and
# each side runs with its build first in PATH.
set -euo pipefail
usage="usage: scripts/benchcmp.sh REV [SUITE...]"
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
	echo "$usage" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
root=$(pwd)
rev=$1
shift
rounds=${ISLE_BENCHCMP_ROUNDS:-2}
if ! [[ $rounds =~ ^[0-9]+$ ]] || [ "$rounds" -lt 2 ]; then
	echo "benchcmp: ISLE_BENCHCMP_ROUNDS=$rounds: want a count of at least 2" >&2
	exit 2
fi
if ! commit=$(git rev-parse --verify --quiet "$rev^{commit}"); then
	echo "benchcmp: $rev is not a commit of this repository" >&2
	exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/isle-benchcmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=${ISLE_BENCHCMP_OUT:-$tmp/rounds}
mkdir -p "$tmp/old" "$out"

git archive "$commit" | tar -x -C "$tmp/old"
if [ ! -d "$tmp/old/bench/cmd/bench" ]; then
	echo "benchcmp: $rev has no bench/cmd/bench to build" >&2
	exit 2
fi
echo "benchcmp: building the harness of $rev ($(git log -1 --format='%h %s' "$commit" | cut -c1-60))" >&2
(cd "$tmp/old" && go build -o "$tmp/bench.old" ./bench/cmd/bench)
echo "benchcmp: building the working tree's harness" >&2
go build -o "$tmp/bench.new" ./bench/cmd/bench
go build -o "$tmp/benchcmp" ./bench/cmd/benchcmp

if [ $# -eq 0 ]; then
	# The suites the new harness lists in its help: "  NAME  doc".
	set -- $("$tmp/bench.new" --help | awk 'NR > 1 && /^  [a-z0-9]/ { print $1 }')
fi
# The suites that run `isle` from PATH measure each side's own build of it.
for suite in "$@"; do
	if [ "$suite" = startup ]; then
		echo "benchcmp: building the isle command of $rev and of the working tree" >&2
		mkdir -p "$tmp/old.bin" "$tmp/new.bin"
		(cd "$tmp/old" && go build -o "$tmp/old.bin/isle" ./cmd/isle)
		go build -o "$tmp/new.bin/isle" ./cmd/isle
		break
	fi
done

# run SIDE SUITE N: one round of a suite with one build; the old build runs
# in its own tree, since its suites build their programs from the tree it
# was built from.
run() {
	local side=$1 suite=$2 n=$3 dir=$root
	[ "$side" = old ] && dir=$tmp/old
	echo "benchcmp: $suite, round $n of $rounds, $side build" >&2
	if ! (cd "$dir" && PATH="$tmp/$side.bin:$PATH" ISLE_BENCH_PLOTS=- "$tmp/bench.$side" "$suite" --json \
		>"$out/$suite.$side.$n.json" 2>"$out/$suite.$side.$n.log"); then
		echo "benchcmp: $suite failed with the $side build:" >&2
		tail -n 5 "$out/$suite.$side.$n.log" >&2
		rm -f "$out/$suite".*.json
		return 1
	fi
}

failed=0
for suite in "$@"; do
	if ! "$tmp/bench.old" --help | awk '{ print $1 }' | grep -qx "$suite"; then
		echo "benchcmp: $rev has no suite $suite: skipped" >&2
		continue
	fi
	for n in $(seq 1 "$rounds"); do
		run old "$suite" "$n" && run new "$suite" "$n" || { failed=1; break; }
	done
done
status=0
"$tmp/benchcmp" "$out" || status=$?
echo "load: $(uptime | sed 's/.*load average/load average/')"
if [ "$failed" = 1 ] && [ "$status" = 0 ]; then
	status=2
fi
exit "$status"
