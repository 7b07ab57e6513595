package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"isle/internal/trace"
)

// cmdTrace is `isle trace FILE`: the report of a trace that `isle run
// --trace FILE` wrote (internal/trace, Report).
func cmdTrace(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("trace", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: isle trace FILE\n\nReports a trace written by isle run --trace FILE: per SIP its run time, switches,\nmigrations and scheduling delay (average and maximum), as perf sched latency; per core\nits busy, idle, polling and sleeping time.")
	}
	if st, ok := parseFlags(fl, args, stdout, stderr); !ok {
		return st
	}
	if fl.NArg() != 1 {
		fmt.Fprintln(stderr, "isle trace: want one trace file (usage: isle trace FILE)")
		return exitUsage
	}
	name := fl.Arg(0)
	b, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintf(stderr, "isle trace: %v\n", unwrapPath(err))
		return exitError
	}
	d, err := trace.Decode(b)
	if err != nil {
		fmt.Fprintf(stderr, "isle trace: %s: %v\n", name, err)
		return exitError
	}
	trace.Report(stdout, d)
	return 0
}
