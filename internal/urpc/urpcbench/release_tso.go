//go:build (amd64 || 386) && !race

package urpcbench

import (
	"sync/atomic"
	"unsafe"
)

// storeRelease is a release store, as in internal/urpc: a plain store on x86,
// so that the raw baselines pay no more for ordering than urpc does.
func storeRelease(p *atomic.Uint64, v uint64) {
	*(*uint64)(unsafe.Pointer(p)) = v
}
