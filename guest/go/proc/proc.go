//go:build wasip1

// Package proc is the process part of isle's host ABI for Go programs built
// with GOOS=wasip1: spawn a child SIP from a module file, wait for it, kill
// it. Errors are WASI errno values, as syscall.Errno: EAGAIN from a spawn
// past the machine's limit on a SIP tree's live descendants (--max-procs).
// A SIP's children end with it (killed) when it ends.
package proc

import (
	"syscall"
	"unsafe"
)

// Spawn starts the module at path (under a directory given to isle with
// --dir) as a child with args (args[0] first) and a nice value.
func Spawn(path string, args []string, nice int) (uint32, error) {
	var buf []byte
	for _, a := range args {
		buf = append(append(buf, a...), 0)
	}
	p := []byte(path)
	var pid uint32
	var pp, ap unsafe.Pointer
	if len(p) > 0 {
		pp = unsafe.Pointer(&p[0])
	}
	if len(buf) > 0 {
		ap = unsafe.Pointer(&buf[0])
	}
	if e := procSpawn(pp, uint32(len(p)), ap, uint32(len(buf)), int32(nice), unsafe.Pointer(&pid)); e != 0 {
		return 0, syscall.Errno(e)
	}
	return pid, nil
}

// SpawnOn is Spawn on another node of the cluster: the module is read from
// that node's --dir, the child runs there, and the returned pid is this
// SIP's handle for Wait and Kill (its exit status comes back over the
// link). Node 0 or the SIP's own node spawns here. Errors beside Spawn's:
// ENXIO no such node, EHOSTUNREACH the node is down (and from Wait, its
// link was lost: the child is gone), ECONNREFUSED it runs no machine.
func SpawnOn(node uint32, path string, args []string, nice int) (uint32, error) {
	var buf []byte
	for _, a := range args {
		buf = append(append(buf, a...), 0)
	}
	p := []byte(path)
	var pid uint32
	var pp, ap unsafe.Pointer
	if len(p) > 0 {
		pp = unsafe.Pointer(&p[0])
	}
	if len(buf) > 0 {
		ap = unsafe.Pointer(&buf[0])
	}
	if e := procSpawnOn(node, pp, uint32(len(p)), ap, uint32(len(buf)), int32(nice), unsafe.Pointer(&pid)); e != 0 {
		return 0, syscall.Errno(e)
	}
	return pid, nil
}

// Wait waits for a child to end and returns its exit status and the CPU
// time it received, in nanoseconds.
func Wait(pid uint32) (status uint32, cpuNanos uint64, err error) {
	if e := procWait(pid, unsafe.Pointer(&status), unsafe.Pointer(&cpuNanos)); e != 0 {
		return 0, 0, syscall.Errno(e)
	}
	return status, cpuNanos, nil
}

// Kill ends a child within one time slice.
func Kill(pid uint32) error {
	if e := procKill(pid); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
