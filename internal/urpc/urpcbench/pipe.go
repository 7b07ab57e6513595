package urpcbench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LinuxPipePingPong compiles src (bench/linux/pipe_pingpong.c) with the
// system's cc into a temporary directory and runs it: two processes pinned
// to two different CPUs bounce a byte through a pair of pipes n times. It
// returns the mean round trip.
func LinuxPipePingPong(src []byte, n int) (time.Duration, error) {
	cpus, err := TwoCPUs()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "isle-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cfile := filepath.Join(dir, "pipe_pingpong.c")
	bin := filepath.Join(dir, "pipe_pingpong")
	if err := os.WriteFile(cfile, src, 0o644); err != nil {
		return 0, err
	}
	if out, err := exec.Command("cc", "-O2", "-o", bin, cfile).CombinedOutput(); err != nil {
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
