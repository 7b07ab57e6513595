package urpc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// meshCores is the number of cores of the stress test's machine: one per
// CPU, and at least 4 so that a small machine still has 12 rings, more
// goroutines than CPUs, and preemption in the middle of sends and receives.
func meshCores() int { return max(runtime.NumCPU(), 4) }

// TestMeshStress is the hammer test: a full mesh of cores, one ring per
// ordered pair, every core sending to every other core and receiving from
// all of them at once, at least 10 million messages in all (fewer under the
// race detector, see stressMessages). Every message says who sent it and its
// position on its ring, and fills its payload with a pattern derived from
// both; every 16th carries a reference. The receiver checks that each
// ring's messages arrive in order, none missing, none repeated, none
// corrupted. A core with nothing to receive and nothing left to send sleeps
// on its doorbell, so the test also hangs (and the watchdog fails it) if a
// wake-up is lost.
func TestMeshStress(t *testing.T) { meshStress(t, stressMessages, NewDoorbell) }

// TestMeshStressFenceDoorbells is the same with doorbells whose producers
// run the barrier of the handshake themselves, as they do where Linux has
// no membarrier.
func TestMeshStressFenceDoorbells(t *testing.T) {
	meshStress(t, stressMessages/10, func() *Doorbell { return newDoorbell(false) })
}

func meshStress(t *testing.T, messages int, newBell func() *Doorbell) {
	n := meshCores()
	perRing := (uint64(messages) + uint64(n*(n-1)) - 1) / uint64(n*(n-1))
	if testing.Short() {
		perRing /= 10
	}
	sizes := []int{2, 8, 64, 256} // small rings wrap and fill all the time
	bells := make([]*Doorbell, n)
	for i := range bells {
		bells[i] = newBell()
	}
	rings := meshRings(n, sizes, bells)
	var failed atomic.Bool
	var progress atomic.Uint64 // messages received, for the watchdog
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stressCore(c, n, perRing, rings, bells[c], &failed, &progress); err != nil {
				failed.Store(true)
				errs <- err
				// Wake everybody so that they notice and stop.
				for _, b := range bells {
					b.Ring()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	watchMesh(t, done, &progress, &failed)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := perRing * uint64(n*(n-1))
	el := time.Since(start)
	t.Logf("%d cores, %d rings, %d messages in %v (%.1f M msgs/s)", n, n*(n-1), total, el, float64(total)/el.Seconds()/1e6)
	var wakes uint64
	for _, b := range bells {
		wakes += b.Wakes()
	}
	t.Logf("doorbell wake-ups: %d", wakes)
	for src := range n {
		for dst := range n {
			if r := rings[src][dst]; r != nil && (r.Sent() != perRing || r.Received() != perRing) {
				t.Errorf("ring %d→%d: sent %d, received %d, want %d", src, dst, r.Sent(), r.Received(), perRing)
			}
		}
	}
}

// meshRings makes rings[src][dst] for every pair of n cores, consumed by
// dst (whose doorbell it rings), of the given sizes in turn.
func meshRings(n int, sizes []int, bells []*Doorbell) [][]*Ring {
	rings := make([][]*Ring, n)
	k := 0
	for src := range n {
		rings[src] = make([]*Ring, n)
		for dst := range n {
			if src != dst {
				rings[src][dst] = NewRing(sizes[k%len(sizes)], bells[dst])
				k++
			}
		}
	}
	return rings
}

// watchMesh waits for done, and fails the test if no message arrives
// anywhere for stressStall before.
func watchMesh(t *testing.T, done <-chan struct{}, progress *atomic.Uint64, failed *atomic.Bool) {
	last, lastChange := uint64(0), time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if now := progress.Load(); now != last {
				last, lastChange = now, time.Now()
			} else if time.Since(lastChange) > stressStall {
				failed.Store(true)
				t.Fatalf("mesh stress: no progress for %v (after %d steps): a wake-up was lost or a ring is stuck", stressStall, now)
			}
		}
	}
}

const stressStall = 20 * time.Second

// stressPayload fills p with the message of position seq on ring src→dst
// and returns its length (8 to 56 bytes).
func stressPayload(p *[PayloadSize]byte, src, dst int, seq uint64) int {
	binary.LittleEndian.PutUint64(p[:8], seq)
	n := 8 + int(seq%49)
	for j := 8; j < n; j++ {
		p[j] = byte(seq*31) ^ byte(j) ^ byte(src<<4|dst)
	}
	return n
}

// stressRef is the reference carried by every 16th message.
type stressRef struct {
	src, dst int
	seq      uint64
}

// stressCore is one core of the mesh: it sends its messages on its rings
// in batches and checks what arrives on the others, until all are done.
func stressCore(c, n int, perRing uint64, rings [][]*Ring, bell *Doorbell, failed *atomic.Bool, progressed *atomic.Uint64) error {
	s := &stressState{c: c, n: n, perRing: perRing, rings: rings, next: make([]uint64, n)}
	idle := 0
	for !failed.Load() {
		sending, sent := s.sendAll()
		receiving, received, err := s.recvAll()
		if err != nil {
			return err
		}
		progress := sent || received
		if progress {
			progressed.Add(1)
		}
		if !sending && !receiving {
			return nil
		}
		if progress {
			idle = 0
			continue
		}
		idle++
		if sending || idle < 64 {
			// A full ring frees up only when its consumer runs: let it.
			runtime.Gosched()
			continue
		}
		// Nothing left to send and nothing arrived for a while: sleep,
		// following the doorbell protocol.
		bell.Arm()
		if s.ready() || failed.Load() {
			bell.Disarm()
			continue
		}
		bell.Wait(nil)
		idle = 0
	}
	return nil
}

// stressBatch is how many messages a core sends on a ring, or receives
// from one, before it turns to the next.
const stressBatch = 16

// stressState is one core's side of the mesh: rings[src][dst], and the
// next position to receive from each source.
type stressState struct {
	c, n      int
	perRing   uint64
	rings     [][]*Ring
	next      []uint64
	out, want [PayloadSize]byte
	m         Msg
}

// sendAll sends a batch on every ring whose messages are not all sent; it
// reports whether any are left to send and whether it sent any.
func (s *stressState) sendAll() (sending, progress bool) {
	for dst := range s.n {
		r := s.rings[s.c][dst]
		if r == nil || r.Sent() == s.perRing {
			continue
		}
		sending = true
		sent := false
		for k := 0; k < stressBatch && r.Sent() < s.perRing; k++ {
			seq := r.Sent()
			l := stressPayload(&s.out, s.c, dst, seq)
			var ref any
			if seq%16 == 0 {
				ref = &stressRef{s.c, dst, seq}
			}
			if !r.TrySend(uint8(seq), s.out[:l], ref) {
				break
			}
			sent = true
		}
		if sent {
			r.Notify()
			progress = true
		}
	}
	return sending, progress
}

// recvAll drains every ring to this core, up to a batch each, checking
// each message; it reports whether any are still to come and whether any
// came.
func (s *stressState) recvAll() (receiving, progress bool, err error) {
	for src := range s.n {
		r := s.rings[src][s.c]
		if r == nil {
			continue
		}
		if s.next[src] < s.perRing {
			receiving = true
		}
		for k := 0; k < stressBatch && r.Recv(&s.m); k++ {
			if err := s.check(src); err != nil {
				return receiving, progress, err
			}
			s.next[src]++
			progress = true
		}
		r.Release()
	}
	return receiving, progress, nil
}

// check compares the message just received from src with the one due.
func (s *stressState) check(src int) error {
	c, m, seq := s.c, &s.m, s.next[src]
	if seq >= s.perRing {
		return fmt.Errorf("ring %d→%d: message after the last one", src, c)
	}
	l := stressPayload(&s.want, src, c, seq)
	got := binary.LittleEndian.Uint64(m.Data[:8])
	if got != seq || m.Type != uint8(seq) || int(m.Len) != l || !bytes.Equal(m.Payload(), s.want[:l]) {
		return fmt.Errorf("ring %d→%d: message %d: got seq %d type %d len %d (want len %d)", src, c, seq, got, m.Type, m.Len, l)
	}
	if seq%16 == 0 {
		ref, ok := m.Ref.(*stressRef)
		if !ok || *ref != (stressRef{src, c, seq}) {
			return fmt.Errorf("ring %d→%d: message %d: reference %v", src, c, seq, m.Ref)
		}
	} else if m.Ref != nil {
		return fmt.Errorf("ring %d→%d: message %d: unexpected reference %v", src, c, seq, m.Ref)
	}
	return nil
}

// ready reports whether a ring to this core has a message waiting.
func (s *stressState) ready() bool {
	for src := range s.n {
		if r := s.rings[src][s.c]; r != nil && !r.Empty() {
			return true
		}
	}
	return false
}
