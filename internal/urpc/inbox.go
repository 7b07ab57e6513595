package urpc

import "sync/atomic"

// Inbox is the set of rings from up to n producers into one consumer, made
// lazily: producer i's ring is allocated on its first send (Ring) and
// published to the consumer, which takes it into its polling set when it
// next calls Refresh. A machine of n cores then holds a ring for each pair
// of cores that have talked, not for every one of the n² pairs.
//
// The rules:
//   - Ring(i) belongs to producer i alone: it writes rings[i] once, then
//     adds one to added; both are atomic, so a consumer that sees the count
//     sees the ring.
//   - Refresh belongs to the consumer. It reads added (one load, on a line
//     producers write once per ring in the inbox's life) and, when it has
//     grown, scans for the new rings.
//   - The doorbell protocol is unchanged: a producer publishes its ring and
//     its first slot before it rings; a consumer about to sleep arms, calls
//     Refresh, and then re-checks every ring it polls, so a ring published
//     while it went to sleep is either seen or rung for.
type Inbox struct {
	_     gap
	added atomic.Uint64 // rings published: producers add, the consumer reads
	_     [len(gap{}) - 8]byte

	// Consumer-local.
	seen  uint64 // added as of the last Refresh
	known []bool // known[i]: rings[i] has been handed to the consumer

	// Immutable after construction, except the pointers each producer
	// writes once.
	rings []atomic.Pointer[Ring]
	slots int
	bell  *Doorbell
}

// NewInbox returns an inbox for n producers whose rings have slots slots and
// whose consumer sleeps on bell. It allocates no ring.
func NewInbox(n, slots int, bell *Doorbell) *Inbox {
	if slots < 2 || slots&(slots-1) != 0 {
		panic("urpc: inbox ring size is not a power of two ≥ 2")
	}
	return &Inbox{rings: make([]atomic.Pointer[Ring], n), known: make([]bool, n), slots: slots, bell: bell}
}

// Ring returns producer i's ring into the inbox, making and publishing it
// on the first call. Only producer i may call it; it should keep the ring
// rather than call Ring again.
func (b *Inbox) Ring(i int) *Ring {
	if r := b.rings[i].Load(); r != nil {
		return r
	}
	r := NewRing(b.slots, b.bell)
	b.rings[i].Store(r)
	b.added.Add(1)
	return r
}

// Changed reports whether a ring has been published since the last Refresh
// (consumer only): one load, for the consumer's every poll.
func (b *Inbox) Changed() bool { return b.added.Load() != b.seen }

// Refresh calls add for every ring published since the last Refresh, with
// the index of its producer, and reports whether there was one (consumer
// only).
func (b *Inbox) Refresh(add func(i int, r *Ring)) bool {
	n := b.added.Load()
	if n == b.seen {
		return false
	}
	b.seen = n
	found := false
	for i := range b.rings {
		if b.known[i] {
			continue
		}
		if r := b.rings[i].Load(); r != nil {
			b.known[i] = true
			add(i, r)
			found = true
		}
	}
	return found
}

// Rings returns how many rings the inbox has made so far.
func (b *Inbox) Rings() int { return int(b.added.Load()) }
