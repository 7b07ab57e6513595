//go:build !(amd64 || 386) || race

package urpcbench

import "sync/atomic"

// storeRelease is a release store; see release_tso.go.
func storeRelease(p *atomic.Uint64, v uint64) { p.Store(v) }
