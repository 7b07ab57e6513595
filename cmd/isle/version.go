package main

import (
	"flag"
	"fmt"
	"io"

	"isle"
)

// cmdVersion prints the versions of isle, of wazero and of Go that the
// binary was built from (its build information).
func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle version\n\nprints the versions of isle, wazero and Go this binary was built from")
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isle version: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	v := isle.Version()
	fmt.Fprintf(stdout, "isle %s\nwazero %s\ngo %s\n", v.Isle, v.Wazero, v.Go)
	return 0
}
