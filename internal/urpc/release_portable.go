//go:build !(amd64 || 386) || race

package urpc

import "sync/atomic"

// storeRelease stores v at p; sync/atomic's Store is sequentially
// consistent, which is more than release ordering needs. See release_tso.go.
func storeRelease(p *atomic.Uint64, v uint64) { p.Store(v) }

// fence is a full barrier; see release_tso.go.
func fence() {
	var w uint32
	atomic.AddUint32(&w, 0)
}
