// gospawn is proc_spawn_on's Go test program (guest/go/proc.SpawnOn): it
// spawns PROGRAM on NODE with ARGS, waits, and prints the status or the
// error ("spawn: errno N", "wait: errno N").
package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"syscall"

	"isle/guest/go/proc"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gospawn NODE PROGRAM.wasm [ARGS...]")
		os.Exit(2)
	}
	node, err := strconv.ParseUint(os.Args[1], 10, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gospawn:", err)
		os.Exit(2)
	}
	prog := os.Args[2]
	pid, err := proc.SpawnOn(uint32(node), prog, append([]string{path.Base(prog)}, os.Args[3:]...), 0)
	if err != nil {
		fmt.Printf("spawn: errno %d\n", errnoOf(err))
		os.Exit(1)
	}
	status, _, err := proc.Wait(pid)
	if err != nil {
		fmt.Printf("wait: errno %d\n", errnoOf(err))
		os.Exit(1)
	}
	fmt.Printf("wait: status %d\n", status)
}

func errnoOf(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return -1
}
