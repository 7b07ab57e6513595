//go:build !(amd64 || 386) || race

package urpc

import "sync/atomic"

// storeRelease stores v at p; sync/atomic's Store is sequentially
// consistent, which is more than release ordering needs. See release_tso.go.
func storeRelease(p *atomic.Uint64, v uint64) { p.Store(v) }

// needFence is false: sequentially consistent stores and loads already
// order a producer's slot stores before its read of the sleeping flag.
const needFence = false

func fence() {}
