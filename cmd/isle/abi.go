package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"isle/internal/abi/spec"
)

// cmdAbi prints module "isle" from its one declaration (internal/abi/spec),
// as cmdWasi prints WASI's table.
func cmdAbi(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("abi", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle abi\n\nprints every function of import module \"isle\", its error codes and constants")
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isle abi: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tPART\tPARAMETERS\tWHAT IT DOES")
	for _, f := range spec.Funcs() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Part, f.Signature(), f.Doc)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nEvery function returns 0 or an error: a code below (channels) or a WASI errno (proc).")
	tw = tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCODE\tC NAME\tMEANING")
	for _, c := range spec.Codes() {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c.Value, c.CName(), c.Doc)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCONSTANT\tVALUE\tMEANING")
	for _, c := range spec.Consts() {
		fmt.Fprintf(tw, "%s\t%#x\t%s\n", c.CName, c.Value, c.Doc)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d functions, %d codes; C: guest/c/isle.h, guest/c/isle_proc.h; Go: isle/guest/go, isle/guest/go/proc\n",
		len(spec.Funcs()), len(spec.Codes()))
	return 0
}
