package wasi

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// Owner is the embedder's per-SIP record (kernel.SIP.Ext) as the WASI
// layer sees it: it hands out the SIP's WASI state.
type Owner interface {
	WASI() *Proc
}

// procOf returns the WASI state of s, whose Ext must be an Owner.
func procOf(s *kernel.SIP) *Proc { return s.Ext.(Owner).WASI() }

// Proc is a SIP's WASI state. Its Owner (kernel.SIP.Ext) is set before the
// SIP is spawned, and it is then touched only on the SIP's coroutine.
type Proc struct {
	Args      []string
	Env       []string // "KEY=value"
	Preopens  []Preopen
	Console   kernel.ServiceID   // writes to stdout and stderr
	Stdin     kernel.ServiceID   // reads from stdin
	FS        []kernel.ServiceID // the file-system workers; the SIP uses one (fdtable.go)
	Net       []kernel.ServiceID // the network workers; the SIP uses one
	Listeners int                // listeners given with --listen: fds after the preopens
	// ListenerFds are the listeners' host descriptors, lent for inline
	// readiness checks (service.ListenerFd); immutable.
	ListenerFds []int32
	// PreopenLends are the preopens' lent-descriptor bits, as an FSOpen
	// result gives a directory's (service.FS.PreopenLends): fstat and path
	// lookups on the core. Immutable.
	PreopenLends []int64
	// HostFDs is the machine's budget of host descriptors, which a file
	// opened on the core is charged to (service.OpenNow); shared by every
	// worker and core, safe for concurrent use (nil: no limit).
	HostFDs *service.HostFDs
	// ConsoleFds are stdout's and stderr's host descriptors (at 1 and 2)
	// plus one, when they are host files, lent for inline writes
	// (service.WriterFd); 0: none. Immutable.
	ConsoleFds [3]int32
	// StdinNow, when set, is the console's stdin, which the SIP may read
	// on its core when the console is idle (service.ConsoleIn.ReadNow).
	StdinNow *service.ConsoleIn

	fds []*fdEntry       // the fd table, by fd; nil: closed (fdtable.go)
	fs  kernel.ServiceID // the file-system worker of this SIP
	net kernel.ServiceID // the network worker of this SIP

	views  [][]byte       // the guest's buffers of an inline call (inline.go); reused
	out    consoleOut     // console output held (console.go)
	poller service.Poller // inline readiness checks of sockets (inline.go)
	// noPathInline: the host has no openat2 with RESOLVE_CACHED, so path
	// lookups go to the worker (inline.go). Owned by the SIP's coroutine.
	noPathInline bool
	// Writes behind (fdbehind.go): behind is made at the SIP's first and
	// shared with its worker as service.Behind says; behindReq is the
	// record of its registration and settle calls; fsCalling is set while
	// the SIP waits for a call to its worker (ReleaseHeld then need not
	// settle). The fields are owned by the SIP's coroutine (behind's
	// sequence also by the exit hook, Release).
	behind    *service.Behind
	behindReq kernel.Request
	fsCalling bool
	pend      []pendWrite // writes behind in flight, in their order (fdbehind.go)
	spans     []span      // overlay's, reused
}

// Preopen is a host directory offered to the SIP at fd 3+i.
type Preopen struct {
	Guest    string // the name the program sees
	Host     string // the host directory
	ReadOnly bool   // every change under it is refused with EACCES
}

// Limits in one place.
const (
	maxWriteChunk = 16 << 20 // bytes one fd_write hands the console; the rest is a short write
	maxReadChunk  = 64 << 10 // bytes one fd_read asks the console for

	// iovMax is the most iovecs one read or write takes (POSIX's IOV_MAX,
	// 1024 on Linux): more is EINVAL, as readv(2) answers, before any is
	// looked at, so no call walks more than 8 KiB of iovec array.
	iovMax = 1024
	// maxSubscriptions is the most subscriptions one poll_oneoff takes:
	// every fd a SIP may hold (maxFds), for reading and for writing. More is
	// EINVAL, as Linux's poll(2) answers nfds above RLIMIT_NOFILE.
	maxSubscriptions = 2 * maxFds
	// randomChunk is what random_get fills between two yields of the core:
	// ~1 ms of crypto/rand here.
	randomChunk = 64 << 10
	// consoleHold is the most bytes of console output a SIP holds
	// (console.go): a write that would pass it sends what is held first,
	// and a write larger than it goes to the console at once. 32 KiB is
	// half a pipe's buffer, so a flush of a full buffer seldom meets a
	// full pipe.
	consoleHold = 32 << 10
)

func u32(a uint64) uint32 { return uint32(a) }

// argsSizesGet(argc *u32, argv_buf_size *u32)
func argsSizesGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return stringsSizes(c.Memory(), p.Args, u32(a[0]), u32(a[1]))
}

// argsGet(argv **u8, argv_buf *u8)
func argsGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return stringsGet(c.Memory(), p.Args, u32(a[0]), u32(a[1]))
}

// environSizesGet(count *u32, buf_size *u32)
func environSizesGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return stringsSizes(c.Memory(), p.Env, u32(a[0]), u32(a[1]))
}

// environGet(environ **u8, environ_buf *u8)
func environGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return stringsGet(c.Memory(), p.Env, u32(a[0]), u32(a[1]))
}

func stringsSizes(m sandbox.Memory, list []string, countPtr, sizePtr uint32) Errno {
	size := 0
	for _, s := range list {
		size += len(s) + 1
	}
	if !m.WriteUint32(countPtr, uint32(len(list))) || !m.WriteUint32(sizePtr, uint32(size)) {
		return EFAULT
	}
	return ESUCCESS
}

// stringsGet writes the pointers to list's strings at ptrs and the strings,
// each NUL-terminated, at buf. Both ranges are checked first, as wazero
// does, even when the list is empty: a range outside memory is EFAULT and
// nothing is written.
func stringsGet(m sandbox.Memory, list []string, ptrs, buf uint32) Errno {
	size := 0
	for _, s := range list {
		size += len(s) + 1
	}
	pv, ok1 := m.Read(ptrs, uint32(4*len(list)))
	bv, ok2 := m.Read(buf, uint32(size))
	if !ok1 || !ok2 {
		return EFAULT
	}
	off := 0
	for i, s := range list {
		binary.LittleEndian.PutUint32(pv[4*i:], buf+uint32(off))
		off += copy(bv[off:], s)
		bv[off] = 0
		off++
	}
	return ESUCCESS
}

// WASI clock ids.
const (
	clockRealtime = iota
	clockMonotonic
	clockProcessCPU
	clockThreadCPU
)

// clockResGet(id u32, resolution *u64): 1 ns for every clock. Realtime and
// monotonic are Go's time.Now (clock_gettime, which Linux reports as 1 ns),
// and the CPU-time clocks are read from the monotonic clock too (CPUTimeNow).
func clockResGet(c *sandbox.Call, _ *kernel.SIP, _ *Proc, a []uint64) Errno {
	if u32(a[0]) > clockThreadCPU {
		return EINVAL
	}
	if !c.Memory().WriteUint64(u32(a[1]), 1) {
		return EFAULT
	}
	return ESUCCESS
}

// clockTimeGet(id u32, precision u64, time *u64)
func clockTimeGet(c *sandbox.Call, s *kernel.SIP, _ *Proc, a []uint64) Errno {
	t, ok := clockNow(s, u32(a[0]))
	if !ok {
		return EINVAL
	}
	if !c.Memory().WriteUint64(u32(a[2]), uint64(t)) {
		return EFAULT
	}
	return ESUCCESS
}

func clockNow(s *kernel.SIP, id uint32) (int64, bool) {
	switch id {
	case clockRealtime:
		return time.Now().UnixNano(), true
	case clockMonotonic:
		return s.Machine().Now(), true
	case clockProcessCPU, clockThreadCPU:
		// A SIP is one thread: both clocks are its CPU time, read to the
		// nanosecond of the monotonic clock (not at the last switch).
		return s.CPUTimeNow(), true
	}
	return 0, false
}

// randomGet(buf *u8, len u32): filled randomChunk bytes at a time, the SIP
// yielding its core between chunks, so that a 1 GiB request (16 s of
// crypto/rand on this VM) does not hold the core or delay a kill.
func randomGet(c *sandbox.Call, s *kernel.SIP, _ *Proc, a []uint64) Errno {
	ptr, n := u32(a[0]), u32(a[1])
	if _, ok := c.Memory().Read(ptr, n); !ok {
		return EFAULT
	}
	for off := uint32(0); off < n; {
		if off > 0 {
			s.Yield()
		}
		k := min(n-off, randomChunk)
		// Read again after a yield: the memory has not changed size (only
		// the guest grows it), but the view is taken fresh all the same.
		b, _ := c.Memory().Read(ptr+off, k)
		rand.Read(b) // never fails on Linux (crypto/rand's documented guarantee)
		off += k
	}
	return ESUCCESS
}

// schedYield()
func schedYield(_ *sandbox.Call, s *kernel.SIP, _ *Proc, _ []uint64) Errno {
	s.Yield()
	return ESUCCESS
}

// procExit(code u32): never returns.
func procExit(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	p.closeAll(s)
	c.Exit(u32(a[0]))
	return ESUCCESS
}
