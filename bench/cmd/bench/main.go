// Command bench runs one of isle's benchmark suites without the rest of
// isle: `go run ./bench/cmd/bench urpc [--json]` does what `isle bench urpc`
// does.
package main

import (
	"os"

	"isle/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr)) }
