// Command benchcmp compares the JSON rows of isle bench suites run with two
// builds, as scripts/benchcmp.sh leaves them in a directory:
//
//	go run ./bench/cmd/benchcmp DIR
//
// It prints each row's old and new figure (the median of its rounds),
// new/old and whether a speed row got worse or better beyond the noise, and
// exits 1 when one got worse.
package main

import (
	"os"

	"isle/bench"
)

func main() { os.Exit(bench.CompareMain(os.Args[1:], os.Stdout, os.Stderr)) }
