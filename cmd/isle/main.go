// Command isle runs WebAssembly programs as software-isolated processes on a
// multikernel of one kernel per core.
//
//	isle run [flags] PROGRAM.wasm [ARGS...]   run a WASI program
//	isle demo                                  build and run the examples
//	isle wasi                                  print the WASI syscall table
//	isle version                               print isle's and wazero's versions
//
// Flags come before the program; everything after it belongs to the program,
// as with wasmtime and wazero.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit statuses of the command itself (a program's own status is passed on).
const (
	exitError = 1 // isle could not do what was asked
	exitUsage = 2 // the command line is wrong
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run a WebAssembly program: isle run [flags] PROGRAM.wasm [ARGS...]", cmdRun},
		{"demo", "build the example programs and run them on a booted machine", cmdDemo},
		{"bench", "measure a mechanism beside its baselines: isle bench SUITE [--json]", cmdBench},
		{"node", "run a machine as a member of a cluster: isle node --id ID --listen-peer ADDR (--peers|--join) ID=ADDR,... [-- [run flags] PROGRAM.wasm]", cmdNode},
		{"cluster", "make a cluster's certificates: isle cluster certs DIR --nodes N", cmdCluster},
		{"contract", "check channel contracts: isle contract check FILE...", cmdContract},
		{"top", "watch a machine started with isle run --control PATH, as htop: isle top PATH", cmdTop},
		{"trace", "report a trace written by isle run --trace, in perf sched latency's columns: isle trace FILE", cmdTrace},
		{"abi", "print module isle's functions, error codes and constants (its one declaration)", cmdAbi},
		{"wasi", "print the wasi_snapshot_preview1 table with each call's support level", cmdWasi},
		{"version", "print the versions of isle, wazero and Go this binary was built from", cmdVersion},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "isle: unknown command %q (see isle help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "isle: a multikernel operating system whose processes are WebAssembly modules")
	fmt.Fprintln(w, "\nusage: isle COMMAND [ARGS...]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nisle COMMAND --help prints a command's flags.")
}
