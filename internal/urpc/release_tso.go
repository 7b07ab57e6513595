//go:build (amd64 || 386) && !race

package urpc

import (
	"sync/atomic"
	"unsafe"
)

// storeRelease stores v at p with release ordering: every load and store
// before it in program order is visible to another CPU before v is.
//
// On x86 every plain store is a release store (the memory model is TSO), and
// the Go compiler keeps stores in program order, so a plain MOV is enough;
// sync/atomic's Store would emit XCHG, a full barrier that makes the CPU wait
// until the store (and the payload written before it) owns its cache line,
// which costs a cache miss per message when streaming. The race detector
// does not see plain stores, so race builds use the atomic Store
// (release_portable.go); so do other architectures.
func storeRelease(p *atomic.Uint64, v uint64) {
	*(*uint64)(unsafe.Pointer(p)) = v
}

// needFence says that a producer's release stores may be passed by its
// later loads (x86 lets a load overtake an earlier store to another
// address), so the doorbell handshake needs a full barrier between a
// producer's slot stores and its read of the sleeping flag: fence, or the
// consumer's membarrier (see Doorbell).
const needFence = true

// fence orders every store before it before every load after it (a full
// barrier). A locked instruction on x86 drains the store buffer; the word is
// on the caller's stack, so no other CPU ever sees the line.
func fence() {
	var w uint32
	atomic.AddUint32(&w, 0)
}
