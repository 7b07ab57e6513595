package bench

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed linux/pipe_pingpong.c
var pipePingPongC []byte

// LinuxPipePingPong compiles bench/linux/pipe_pingpong.c with the system's cc
// into a temporary directory and runs it: two processes pinned to two
// different CPUs bounce a byte through a pair of pipes n times. It returns
// the mean round trip.
func LinuxPipePingPong(n int) (time.Duration, error) {
	cpus, err := twoCPUs()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "isle-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "pipe_pingpong.c")
	bin := filepath.Join(dir, "pipe_pingpong")
	if err := os.WriteFile(src, pipePingPongC, 0o644); err != nil {
		return 0, err
	}
	if out, err := exec.Command("cc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cc pipe_pingpong.c: %v: %s", err, strings.TrimSpace(string(out)))
	}
	out, err := exec.Command(bin, strconv.Itoa(n), strconv.Itoa(cpus[0]), strconv.Itoa(cpus[1])).Output()
	if err != nil {
		return 0, fmt.Errorf("pipe_pingpong: %v", err)
	}
	ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("pipe_pingpong printed %q", out)
	}
	return time.Duration(ns), nil
}
