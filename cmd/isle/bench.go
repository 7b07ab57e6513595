package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// cmdBench runs `isle bench SUITE [--json]`: the suites live in package
// bench, which this command does not link. It runs `go run ./bench/cmd/bench`
// in the isle source tree instead (the suites build their programs from that
// tree anyway, with clang and Go), so that the harness and its plotting
// library (gonum's, whose package initialisation parses font tables) are in
// no `isle run` process (docs/startup.md).
func cmdBench(args []string, stdout, stderr io.Writer) int {
	root, err := sourceRoot()
	if err != nil {
		fmt.Fprintln(stderr, "isle bench: run it from the isle source tree (the suites build their programs from it)")
		return exitError
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(stderr, "isle bench: the go command is not on PATH (the suites are built with it)")
		return exitError
	}
	cmd := exec.Command(goTool, append([]string{"run", "./bench/cmd/bench"}, args...)...)
	cmd.Dir = root
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintf(stderr, "isle bench: %v\n", err)
	return exitError
}
