package urpc

import (
	"sync/atomic"
	"time"
)

// Doorbell lets a consumer of several rings sleep until a producer has
// published something for it.
//
// The protocol, which loses no wake-up:
//
//	consumer                                producer
//	poll its rings for a while              publish slots (release stores)
//	Arm()           (sleeping = 1)          Ring(): if sleeping == 1, wake
//	re-check every ring; if any is
//	not empty, Disarm() and go on
//	Wait()          (sleeps, then sleeping = 0)
//
// This is Dekker's pattern: each side stores, then loads what the other
// stored, so each side needs a full barrier between its store and its load;
// then either the producer sees the flag and wakes the consumer, or the
// consumer's re-check sees the slot. Arm's store is sequentially consistent.
// On the producer's side a barrier on every Ring would cost a locked
// instruction, which on x86 waits for the slot's cache line to arrive: a
// cache miss per Send. So when Linux offers membarrier(2), the consumer pays
// instead: Arm calls membarrier, which makes every other running thread of
// the process execute a barrier, and Ring needs none (an asymmetric Dekker,
// as in userspace RCU). Otherwise Ring runs the barrier itself.
// models/urpc.pml checks both forms of the handshake.
//
// A wake-up token may be left over from an earlier round; it only causes one
// spurious return from Wait, after which the consumer re-checks its rings.
type Doorbell struct {
	_        gap
	sleeping atomic.Uint32
	_        [len(gap{}) - 4]byte
	// Immutable after construction.
	asymmetric bool          // Arm calls membarrier, so Ring needs no barrier
	wake       chan struct{} // capacity 1: at most one pending token

	wakes atomic.Uint64 // wake-ups sent, for statistics
}

// NewDoorbell returns a doorbell with nobody sleeping.
func NewDoorbell() *Doorbell {
	return newDoorbell(needFence && registerMembarrier())
}

// newDoorbell returns a doorbell whose consumer pays for the handshake's
// barrier with membarrier (asymmetric) or whose producers pay with a fence.
func newDoorbell(asymmetric bool) *Doorbell {
	return &Doorbell{wake: make(chan struct{}, 1), asymmetric: asymmetric}
}

// Ring wakes the consumer if it is sleeping. Any producer may call it.
func (d *Doorbell) Ring() {
	if needFence && !d.asymmetric {
		fence() // the slots published before must be visible before sleeping is read
	}
	if d.sleeping.Load() != 0 && d.sleeping.CompareAndSwap(1, 0) {
		d.wakes.Add(1)
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// Arm announces that the consumer is about to sleep. The consumer must then
// re-check every ring that rings this doorbell before calling Wait.
func (d *Doorbell) Arm() {
	d.sleeping.Store(1)
	if d.asymmetric {
		membarrier() // every producer's earlier slot stores are now visible here
	}
}

// Disarm cancels Arm when the re-check found work.
func (d *Doorbell) Disarm() { d.sleeping.Store(0) }

// Wait sleeps until a producer rings, or until timer fires when timer is not
// nil. It reports whether it was woken by a producer.
func (d *Doorbell) Wait(timer <-chan time.Time) bool {
	select {
	case <-d.wake:
		return true
	case <-timer:
		d.sleeping.Store(0)
		return false
	}
}

// Wakes returns how many times a producer woke the consumer.
func (d *Doorbell) Wakes() uint64 { return d.wakes.Load() }
