package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"isle/internal/wasi"
)

func cmdWasi(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wasi", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle wasi\n\nprints every function of wasi_snapshot_preview1 with isle's support level")
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isle wasi: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tSUPPORT\tNOTE")
	counts := map[wasi.Support]int{}
	for _, sc := range wasi.Table() {
		note := sc.Note
		if sc.Support == wasi.None {
			note = strings.TrimSpace("returns ENOSYS " + note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sc.Name, sc.Support, note)
		counts[sc.Support]++
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d functions: %d full, %d partial, %d not implemented\n",
		len(wasi.Table()), counts[wasi.Full], counts[wasi.Partial], counts[wasi.None])
	return 0
}
