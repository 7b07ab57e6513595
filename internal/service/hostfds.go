package service

// Host descriptors are the machine's, not a guest's: each SIP may hold at
// most MaxFilesPerSIP files and directories in its file-system worker (and
// as many connections in its network worker), and all the workers of a
// machine together at most what the host's RLIMIT_NOFILE leaves after a
// reserve, which the machine keeps for itself (the loader reading a module
// to spawn, listeners, the runtime's own descriptors). Past the SIP's quota
// a call fails with EMFILE; past the machine's budget with ENFILE; a host
// EMFILE or ENFILE (the budget was not enough) is ENFILE too, never EIO.
// Go raises the soft limit to the hard one at start (since Go 1.19), so
// the budget is read from the soft limit at Boot.

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"isle/internal/wasip1"
)

// Limits in one place.
const (
	MaxFilesPerSIP = 1024 // open files and directories (or connections) per SIP
	HostFDReserve  = 256  // host descriptors the machine keeps out of the services' budget
	minHostFDs     = 64   // the budget when the host's limit leaves less after the reserve
)

// HostFDs is a machine's budget of host descriptors for its services' files
// and sockets, shared by every worker of the machine: safe for concurrent
// use. A nil *HostFDs has no limit.
type HostFDs struct {
	used  atomic.Int64
	limit int64 // immutable
}

// NewHostFDs returns a budget of limit descriptors.
func NewHostFDs(limit int64) *HostFDs { return &HostFDs{limit: limit} }

// MachineHostFDs returns the budget for a machine on this host: the soft
// RLIMIT_NOFILE less HostFDReserve (at least minHostFDs).
func MachineHostFDs() *HostFDs {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<40 {
		return NewHostFDs(1 << 20)
	}
	return NewHostFDs(max(int64(rl.Cur)-HostFDReserve, minHostFDs))
}

// take reserves k descriptors, or reports false if the budget has not k
// left.
func (h *HostFDs) take(k int) bool {
	if h == nil {
		return true
	}
	if h.used.Add(int64(k)) > h.limit {
		h.used.Add(-int64(k))
		return false
	}
	return true
}

// TakeOne reserves one descriptor for a file a SIP opens on its core
// (OpenNow), or reports false if none is left; the worker gives it back
// when it closes the adopted file.
func (h *HostFDs) TakeOne() bool { return h.take(1) }

// GiveOne gives back what TakeOne took, when the file was not adopted.
func (h *HostFDs) GiveOne() { h.give(1) }

// give returns k descriptors to the budget.
func (h *HostFDs) give(k int) {
	if h != nil {
		h.used.Add(-int64(k))
	}
}

// quota counts each SIP's handles in one worker. It is owned by that
// worker's goroutine.
type quota map[int64]int

// admit reports the errno of pid opening one more handle of k host
// descriptors from budget b, and on success charges it to both.
func (q quota) admit(b *HostFDs, pid int64, k int) wasip1.Errno {
	if q[pid] >= MaxFilesPerSIP {
		return wasip1.ErrnoMfile
	}
	if !b.take(k) {
		return wasip1.ErrnoNfile
	}
	q[pid]++
	return 0
}

// release gives back what admit charged.
func (q quota) release(b *HostFDs, pid int64, k int) {
	b.give(k)
	if q[pid]--; q[pid] <= 0 {
		delete(q, pid)
	}
}
