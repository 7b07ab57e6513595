package replica

// The shared table: one copy for every core, as Linux keeps its tables.
//
// Design: sharded copy-on-write. The keys are spread over a fixed number of
// shards by hash; each shard is an immutable map behind an atomic pointer.
// A read loads the pointer and looks the key up: no lock, no store, so
// readers on different cores never write a common cache line and reads
// scale with the cores (they only share lines that stay in the Shared state
// of the cache protocol). A write takes its shard's mutex, copies the
// shard's map, changes the copy and publishes it with an atomic store, so
// readers see the old or the new map, never a torn one (RCU-like; the
// garbage collector plays the grace period). A write costs O(keys/shards)
// copying: right for read-mostly kernel tables (names, processes), wrong for
// write-heavy ones, for which Locked (sharded RWMutex) is the alternative.
// BenchmarkReads measures both (docs/replica.md has the numbers).

import (
	"hash/maphash"
	"iter"
	"maps"
	"sync"
	"sync/atomic"
)

// sharedShards is the number of shards of a Shared or Locked table.
const sharedShards = 64

type cowShard[V any] struct {
	mu sync.Mutex // serializes writers of this shard
	m  atomic.Pointer[map[string]V]
	_  [64]byte
}

// Shared is a table with one copy for all cores: lock-free reads, writes
// that copy one shard. Every method may be called from any core at any
// time. Writes commit at once (Result.Outcome is Committed; Result.Tx is the
// zero TxID).
//
// Ownership: shared by every core; each shard's map is immutable once
// published; seed is immutable after NewShared.
type Shared[V any] struct {
	seed   maphash.Seed
	shards [sharedShards]cowShard[V]
}

// NewShared returns an empty shared table.
func NewShared[V any]() *Shared[V] {
	s := &Shared[V]{seed: maphash.MakeSeed()}
	for i := range s.shards {
		m := map[string]V{}
		s.shards[i].m.Store(&m)
	}
	return s
}

func (s *Shared[V]) shard(key string) *cowShard[V] {
	return &s.shards[maphash.String(s.seed, key)%sharedShards]
}

// Get returns the value under key.
func (s *Shared[V]) Get(key string) (V, bool) {
	v, ok := (*s.shard(key).m.Load())[key]
	return v, ok
}

// All yields every key and value: each shard from one snapshot, the shards
// one after another (a write between two shards may or may not be seen).
func (s *Shared[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for i := range s.shards {
			for k, v := range *s.shards[i].m.Load() {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// Len returns the number of keys (the sum of the shards' sizes, each read
// at a slightly different moment).
func (s *Shared[V]) Len() int {
	n := 0
	for i := range s.shards {
		n += len(*s.shards[i].m.Load())
	}
	return n
}

// Put stores v under key.
func (s *Shared[V]) Put(key string, v V) Result {
	return s.write(Op[V]{Kind: OpPut, Key: key, Value: v})
}

// Delete removes key.
func (s *Shared[V]) Delete(key string) Result {
	return s.write(Op[V]{Kind: OpDelete, Key: key})
}

func (s *Shared[V]) write(op Op[V]) Result {
	sh := s.shard(op.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old := *sh.m.Load()
	if _, ok := old[op.Key]; op.Kind == OpDelete && !ok {
		return Result{Outcome: Committed, Reason: ReasonAllYes}
	}
	m := maps.Clone(old)
	if m == nil {
		m = map[string]V{}
	}
	op.apply(m)
	sh.m.Store(&m)
	return Result{Outcome: Committed, Reason: ReasonAllYes}
}

type lockedShard[V any] struct {
	mu sync.RWMutex
	m  map[string]V
	_  [64]byte
}

// Locked is a table with one copy for all cores behind one RWMutex per
// shard: writes are cheap (no copy), but every read writes the shard's
// reader count, so reads of one shard from many cores bounce its cache line.
// Every method may be called from any core at any time.
type Locked[V any] struct {
	seed   maphash.Seed
	shards [sharedShards]lockedShard[V]
}

// NewLocked returns an empty locked table.
func NewLocked[V any]() *Locked[V] {
	t := &Locked[V]{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = map[string]V{}
	}
	return t
}

func (t *Locked[V]) shard(key string) *lockedShard[V] {
	return &t.shards[maphash.String(t.seed, key)%sharedShards]
}

// Get returns the value under key.
func (t *Locked[V]) Get(key string) (V, bool) {
	sh := t.shard(key)
	sh.mu.RLock()
	v, ok := sh.m[key]
	sh.mu.RUnlock()
	return v, ok
}

// All yields every key and value, holding each shard's read lock while it
// yields that shard's keys: yield must not write to the table.
func (t *Locked[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for i := range t.shards {
			sh := &t.shards[i]
			sh.mu.RLock()
			for k, v := range sh.m {
				if !yield(k, v) {
					sh.mu.RUnlock()
					return
				}
			}
			sh.mu.RUnlock()
		}
	}
}

// Len returns the number of keys.
func (t *Locked[V]) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Put stores v under key.
func (t *Locked[V]) Put(key string, v V) Result {
	return t.write(Op[V]{Kind: OpPut, Key: key, Value: v})
}

// Delete removes key.
func (t *Locked[V]) Delete(key string) Result {
	return t.write(Op[V]{Kind: OpDelete, Key: key})
}

func (t *Locked[V]) write(op Op[V]) Result {
	sh := t.shard(op.Key)
	sh.mu.Lock()
	op.apply(sh.m)
	sh.mu.Unlock()
	return Result{Outcome: Committed, Reason: ReasonAllYes}
}

var (
	_ Table[int] = (*Node[int])(nil)
	_ Table[int] = (*Shared[int])(nil)
	_ Table[int] = (*Locked[int])(nil)
)
