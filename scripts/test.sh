#!/usr/bin/env bash
# isle's whole test suite. It installs what the tests need when it is missing
# (from Debian's packages: clang, lld, wasi-libc and libclang-rt-14-dev-wasm32
# to build the C test programs, libc++-dev-wasm32 for the C++ ones, rustc and
# libstd-rust-dev-wasm32 (Rust 1.63, target wasm32-wasi) for the Rust ones,
# spin and a C compiler for the SPIN models, iptables for the loss and the
# delay on the links of the network-namespace tests where the kernel has no
# netem),
# then vets, runs every test, and runs the concurrent packages under -race.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-dev-wasm32 rustc libstd-rust-dev-wasm32 spin gcc iptables; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "scripts/test.sh: installing ${need[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi
echo "== go vet"
go vet ./...
# The scheduling tests measure CPU shares and idle cores in real time on the
# host's CPUs, so they run alone, after the others, rather than beside other
# packages' tests competing for the same two CPUs.
sched_tests='TestBalancingSharesCores|TestWakeupsAndBursts'
echo "== go test"
go test -count=1 -skip "$sched_tests" ./...
echo "== go test (scheduling, alone)"
go test -count=1 -run "$sched_tests" -v . | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|shares|run [0-9]'
echo "== go test -race (concurrent packages)"
# Under the race detector wazero's compiler and the kernel run several times
# slower, so the tests that compare CPU shares are left to the runs above.
go test -count=1 -race -short -skip "$sched_tests|TestSpinParent" ./internal/urpc/... ./internal/kernel/... ./internal/replica/... ./internal/percpu/... ./internal/tables/... ./internal/ipc/... .
