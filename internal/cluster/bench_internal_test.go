package cluster

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkRegister: one registration at a time on a three-node cluster
// over the in-memory transport, each Ready fsynced: the latency of a Raft
// commit as a caller sees it. Beside it, BenchmarkBoltCommit, its floor on
// the same disk: one bbolt transaction (a commit needs the leader's and then
// a follower's, one after the other).
func BenchmarkRegister(b *testing.B) {
	c := newCluster(b, 3, 11)
	c.startAll()
	g := c.groups[1]
	c.mustRegister(g, "warm-up")
	ctx := ctxFor(b, time.Hour)
	b.ResetTimer()
	for i := range b.N {
		if err := g.Register(ctx, fmt.Sprintf("n%d", i), Name{Contract: "C"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBoltCommit(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 100)
	b.ResetTimer()
	for i := range b.N {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("log"))
			if err != nil {
				return err
			}
			return bk.Put(logKey(uint64(i)), val)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
