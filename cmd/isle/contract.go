package main

import (
	"flag"
	"fmt"
	"io"

	"isle/internal/contract"
)

// cmdContract: isle contract check FILE...
func cmdContract(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(stdout, "usage: isle contract check FILE...\n\nchecks channel contracts (docs/contracts.md); prints file:line:col: message\nfor each problem and exits with status 1 if there is any")
			return 0
		}
		fmt.Fprintln(stderr, "isle contract: usage: isle contract check FILE...")
		return exitUsage
	}
	fs := flag.NewFlagSet("contract check", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: isle contract check FILE...") }
	if st, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return st
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "isle contract check: no files given")
		return exitUsage
	}
	diags, err := contract.CheckFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "isle contract check: %v\n", err)
		return exitError
	}
	for _, d := range diags {
		fmt.Fprintln(stdout, d.String())
	}
	if len(diags) > 0 {
		return 1
	}
	return 0
}
