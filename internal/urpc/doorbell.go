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
// Registering for membarrier is itself slow: in a process that already has
// threads (every Go process) Linux waits for an RCU grace period, 5–20 ms,
// half of a small program's start-up. So registration runs later, in the
// background (Membarrier), and a doorbell starts symmetric: producers fence.
// The consumer switches it to asymmetric in Arm, once the registration is
// done, by storing the flag before its own first membarrier; from then on
// every Arm calls membarrier, so a producer that has seen the flag and skips
// its fence always meets a membarrier in the consumer's handshake, and one
// that has not seen it fences as before. The flag only goes from false to
// true. docs/urpc.md records the options measured.
//
// A wake-up token may be left over from an earlier round; it only causes one
// spurious return from Wait, after which the consumer re-checks its rings.
type Doorbell struct {
	_        gap
	sleeping atomic.Uint32
	_        [len(gap{}) - 4]byte
	// Set by the consumer (in Arm) once, from false to true; read by
	// producers in Ring.
	asymmetric atomic.Bool // Arm calls membarrier, so Ring needs no barrier
	// Immutable after construction.
	reg  *Membarrier   // the process's registration; nil: always symmetric
	wake chan struct{} // capacity 1: at most one pending token

	wakes atomic.Uint64 // wake-ups sent, for statistics
}

// Membarrier is the process's registration for expedited private
// membarriers, which may not have started or may still be in progress. One
// is shared by every doorbell of a machine. done and ok are written by the
// registering goroutine (once) and read by consumers; timer is immutable.
type Membarrier struct {
	done  atomic.Bool // registration finished
	ok    atomic.Bool // and the kernel offers membarrier; set before done
	timer *time.Timer // starts the registration; nil when done at once
}

// RegisterMembarrier registers the process for expedited private
// membarriers in the background, starting after delay, and returns at once.
// Doorbells made with it are symmetric until the registration is done.
//
// Why the delay: a registering thread waits in the kernel for a grace
// period, and a process whose thread is in that wait cannot finish exiting,
// so registering at once, even in a goroutine, adds the grace period to
// every short program's run. Registering later costs a short program
// nothing (Cancel stops the timer) and a long one a few ms of fences.
func RegisterMembarrier(delay time.Duration) *Membarrier {
	m := &Membarrier{}
	if !needFence {
		m.done.Store(true)
		return m
	}
	m.timer = time.AfterFunc(delay, m.register)
	return m
}

// Cancel stops a registration that has not started. One in progress ends
// by itself.
func (m *Membarrier) Cancel() {
	if m != nil && m.timer != nil {
		m.timer.Stop()
	}
}

// registerMembarrierNow registers in the caller and returns the finished
// registration.
func registerMembarrierNow() *Membarrier {
	m := &Membarrier{}
	if needFence {
		m.register()
	} else {
		m.done.Store(true)
	}
	return m
}

func (m *Membarrier) register() {
	m.ok.Store(registerMembarrier())
	m.done.Store(true)
}

// Ready reports whether the registration is finished and membarrier usable.
func (m *Membarrier) Ready() bool { return m.done.Load() && m.ok.Load() }

// NewDoorbell returns a doorbell with nobody sleeping, registering the
// process for membarrier first if it is not yet (which may take a grace
// period): for tests and tools; a machine uses NewDoorbellWith.
func NewDoorbell() *Doorbell { return NewDoorbellWith(registerMembarrierNow()) }

// NewDoorbellWith returns a doorbell with nobody sleeping that becomes
// asymmetric once reg is ready.
func NewDoorbellWith(reg *Membarrier) *Doorbell {
	return &Doorbell{wake: make(chan struct{}, 1), reg: reg}
}

// newDoorbell returns a doorbell whose consumer pays for the handshake's
// barrier with membarrier (asymmetric) or whose producers pay with a fence.
func newDoorbell(asymmetric bool) *Doorbell {
	if asymmetric {
		return NewDoorbell()
	}
	return NewDoorbellWith(nil)
}

// Ring wakes the consumer if it is sleeping. Any producer may call it.
func (d *Doorbell) Ring() {
	if needFence && !d.asymmetric.Load() {
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
	if d.asymmetric.Load() {
		membarrier() // every producer's earlier slot stores are now visible here
		return
	}
	if needFence && d.reg != nil && d.reg.Ready() {
		d.asymmetric.Store(true) // before this Arm's membarrier: see the type's doc
		membarrier()
	}
}

// Disarm cancels Arm when the re-check found work.
func (d *Doorbell) Disarm() { d.sleeping.Store(0) }

// Armed reports whether the consumer has armed the doorbell and not yet
// woken: it sleeps, or is about to. For tests and statistics; a producer
// uses Ring.
func (d *Doorbell) Armed() bool { return d.sleeping.Load() == 1 }

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
