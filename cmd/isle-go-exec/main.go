// Command isle-go-exec runs Go programs and test binaries built for
// GOOS=wasip1 GOARCH=wasm on isle. It is what
// $(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec is for wasmtime and wazero:
//
//	go install ./cmd/isle-go-exec
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOPATH)/bin/isle-go-exec" ./...
//
// go test hands it the test binary (pkg.test, no .wasm suffix) and the
// binary's -test.* flags; every argument after the program belongs to the
// program, so isle-go-exec has no flags of its own. It gives the program
// what that script gives the known runtimes:
//
//   - the host's root directory preopened as "/", so the program reaches its
//     package's testdata and the go command's temporary directories by the
//     host's absolute paths (read-write, as wasmtime's --dir=/ and wazero's
//     -mount /:/ do);
//   - isle-go-exec's own environment, as wazero's -env-inherit, with PWD set
//     to its working directory (the package's directory under go test), from
//     which Go's runtime takes its working directory;
//   - a deep stack: wazero grows a SIP's WebAssembly stack up to 400 MB
//     (wasmtime needs -W max-wasm-stack=8388608 for Go's tests), and Go's
//     own goroutine stacks live in linear memory.
//
// It runs the program on a machine of one core per CPU with isle's
// compilation cache (~/.cache/isle/wazero), and exits as isle run does:
// with the program's status, 134 after a trap (printing the trap and the
// guest's stack), 1 with one line when the program cannot be run (not a
// WebAssembly module, say), 130 or 143 after SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"isle"
)

// Exit statuses of the command itself (a program's own status is passed on).
const (
	exitError = 1 // the program could not be run
	exitUsage = 2 // no program given
)

func main() {
	os.Exit(goExec(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// goExec runs args[0] with args[1:] and returns the exit status.
func goExec(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "isle-go-exec: no program given (usage: isle-go-exec PROGRAM [ARGS...], as go test -exec runs it)")
		return exitUsage
	}
	prog := args[0]
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "isle-go-exec: working directory: %v\n", err)
		return exitError
	}
	cfg := isle.NewConfig().WithStdio(stdin, stdout, stderr).
		WithDir(isle.Dir{Host: "/", Guest: "/"}).
		WithCacheDir(cacheDir())
	for _, e := range environment(os.Environ(), wd) {
		cfg = cfg.WithEnv(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var caught atomic.Int32
	go func() {
		select {
		case sig := <-sigs:
			caught.Store(int32(sig.(syscall.Signal)))
			cancel()
		case <-ctx.Done():
		}
	}()
	st, _, err := isle.Run(ctx, cfg, prog, args[1:])
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "not a WebAssembly module") {
			msg += " (build it with GOOS=wasip1 GOARCH=wasm)"
		}
		fmt.Fprintf(stderr, "isle-go-exec: %s\n", msg)
		return exitError
	}
	if st.Trap != "" {
		fmt.Fprintf(stderr, "isle-go-exec: %s: trap: %s\n", prog, st.Trap)
		if st.Stack != "" {
			fmt.Fprintf(stderr, "wasm stack trace:\n\t%s\n", strings.ReplaceAll(st.Stack, "\n", "\n\t"))
		}
	}
	if sig := caught.Load(); sig != 0 {
		fmt.Fprintf(stderr, "isle-go-exec: %v: machine stopped\n", syscall.Signal(sig))
		return 128 + int(sig)
	}
	return st.Status()
}

// environment is the program's environment: the host's, with PWD set to wd
// (the go command sets PWD for the binaries it runs, but a shell that ran
// isle-go-exec by hand may have left it stale or unset).
func environment(host []string, wd string) []string {
	var env []string
	for _, e := range host {
		if !strings.HasPrefix(e, "PWD=") {
			env = append(env, e)
		}
	}
	return append(env, "PWD="+wd)
}

// cacheDir is isle run's default compilation cache; empty for none.
func cacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "isle", "wazero")
}
