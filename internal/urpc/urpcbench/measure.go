package urpcbench

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"isle/internal/urpc"
)

// The measurements below run between two threads pinned to two different
// CPUs, a warm-up and then chunks of per operations (round trips or
// messages), and return the time of each chunk. None of their loops
// allocates, locks or makes a system call: time.Now at the chunk
// boundaries is the only thing they do besides their work.

// RingSize is the ring size the benchmarks use (the kernel's
// DefaultRingSlots). SmallRing is the size of the ping-pong that shows what
// the rings' cache footprint costs (docs/urpc.md, "Where urpc's time goes").
const (
	RingSize  = 256
	SmallRing = 8
)

// Samples are the times of the chunks of one measurement.
type Samples struct {
	Chunks []time.Duration
	Per    int // operations in each chunk
}

// samples turns the marks of pinnedPair into chunk times.
func samples(marks []time.Time, per int, err error) (Samples, error) {
	s := Samples{Per: per}
	for i := 1; i < len(marks); i++ {
		s.Chunks = append(s.Chunks, marks[i].Sub(marks[i-1]))
	}
	return s, err
}

// Total returns the time of all the chunks.
func (s Samples) Total() time.Duration {
	var t time.Duration
	for _, c := range s.Chunks {
		t += c
	}
	return t
}

// NsPerOp returns the nanoseconds per operation of every chunk.
func (s Samples) NsPerOp() []float64 {
	v := make([]float64, len(s.Chunks))
	for i, c := range s.Chunks {
		v[i] = float64(c.Nanoseconds()) / float64(s.Per)
	}
	return v
}

// OpsPerSec returns the operations per second of every chunk.
func (s Samples) OpsPerSec() []float64 {
	v := make([]float64, len(s.Chunks))
	for i, c := range s.Chunks {
		v[i] = float64(s.Per) / c.Seconds()
	}
	return v
}

func warmup(n int) int { return min(n/8+1, 100_000) }

// The measuring side calls mark when operation number next (counting the
// warm-up) begins, then moves next on by a chunk, and marks again after its
// last operation: a compare per operation, no division.

// paddedWord is a word alone on its cache line, whatever the alignment of
// the allocation: at least 56 bytes of padding on each side.
type paddedWord struct {
	_ [urpc.LineSize]byte
	v atomic.Uint64
	_ [2*urpc.LineSize - 8]byte
}

// RawCachelinePingPong bounces one cache line between the two CPUs, chunks
// times per round trips: each side waits for the other's value and writes
// its own. Half of a round trip is the physical limit of a message between
// cores.
func RawCachelinePingPong(chunks, per int) (Samples, error) {
	n := chunks * per
	w := warmup(n)
	line := new(paddedWord)
	marks, err := pinnedPair(chunks+1, func(mark func()) {
		v, next := uint64(0), w
		for i := 0; i < w+n; i++ {
			if i == next {
				mark()
				next += per
			}
			storeRelease(&line.v, v+1)
			for line.v.Load() != v+2 {
			}
			v += 2
		}
		mark()
	}, func() {
		v := uint64(0)
		for i := 0; i < w+n; i++ {
			for line.v.Load() != v+1 {
			}
			storeRelease(&line.v, v+2)
			v += 2
		}
	})
	return samples(marks, per, err)
}

// RawTwoLinePingPong is RawCachelinePingPong with one line for each
// direction: each side writes only its own line and spins on the other's.
// It is the limit for any protocol that, like urpc, sends each direction
// through memory of its own.
func RawTwoLinePingPong(chunks, per int) (Samples, error) {
	n := chunks * per
	w := warmup(n)
	ab, ba := new(paddedWord), new(paddedWord)
	marks, err := pinnedPair(chunks+1, func(mark func()) {
		next := w
		for i := 0; i < w+n; i++ {
			if i == next {
				mark()
				next += per
			}
			storeRelease(&ab.v, uint64(i+1))
			for ba.v.Load() != uint64(i+1) {
			}
		}
		mark()
	}, func() {
		for i := 0; i < w+n; i++ {
			for ab.v.Load() != uint64(i+1) {
			}
			storeRelease(&ba.v, uint64(i+1))
		}
	})
	return samples(marks, per, err)
}

// URPCPingPong sends a message of 8 bytes over one ring and its answer
// over another, chunks times per round trips. Both sides poll; the doorbells
// are rung (their flag is read) but nobody sleeps.
func URPCPingPong(chunks, per int) (Samples, error) {
	return urpcPingPong(chunks, per, RingSize)
}

// URPCPingPongRing is URPCPingPong over rings of size slots.
func URPCPingPongRing(chunks, per, size int) (Samples, error) { return urpcPingPong(chunks, per, size) }

func urpcPingPong(chunks, per, size int) (Samples, error) {
	n := chunks * per
	w := warmup(n)
	ab := urpc.NewRing(size, urpc.NewDoorbell())
	ba := urpc.NewRing(size, urpc.NewDoorbell())
	bad := 0
	marks, err := pinnedPair(chunks+1, func(mark func()) {
		var m urpc.Msg
		var buf [8]byte
		next := w
		for i := 0; i < w+n; i++ {
			if i == next {
				mark()
				next += per
			}
			binary.LittleEndian.PutUint64(buf[:], uint64(i))
			ab.Send(1, buf[:], nil)
			for !ba.Recv(&m) {
			}
			ba.Release()
			if binary.LittleEndian.Uint64(m.Data[:]) != uint64(i) {
				bad++
			}
		}
		mark()
	}, func() {
		var m urpc.Msg
		for i := 0; i < w+n; i++ {
			for !ab.Recv(&m) {
			}
			ab.Release()
			ba.Send(2, m.Payload(), nil)
		}
	})
	if err == nil && bad != 0 {
		err = fmt.Errorf("urpc ping-pong: %d answers corrupted", bad)
	}
	return samples(marks, per, err)
}

// rawLine is one 64-byte line of the raw stream: seq is written last.
type rawLine struct {
	seq  atomic.Uint64
	data [7]uint64
}

// RawStream streams chunks times per 64-byte lines one way through a ring
// of RingSize lines with no protocol beyond the least a bounded buffer
// needs: the producer fills a line and stores its sequence number last; the
// consumer waits for that number, reads the line and, every half ring,
// stores how far it has read, which the producer reads only when it has
// caught up.
func RawStream(chunks, per int) (Samples, error) {
	return rawStream(chunks, per, RingSize)
}

func rawStream(chunks, per, size int) (Samples, error) {
	n := chunks * per
	w := warmup(n)
	total := uint64(w + n)
	lines := alignedLines(size)
	var read paddedWord
	mask, half := uint64(size-1), uint64(size/2)
	var sum uint64
	marks, err := pinnedPair(chunks+1, func(mark func()) {
		next := uint64(w)
		for i := uint64(0); i < total; i++ {
			if i == next {
				mark()
				next += uint64(per)
			}
			l := &lines[i&mask]
			for l.seq.Load() != i+1 {
			}
			for _, x := range l.data {
				sum += x
			}
			if (i+1)&(half-1) == 0 {
				storeRelease(&read.v, i+1)
			}
		}
		mark()
	}, func() {
		seen := uint64(0)
		for i := uint64(0); i < total; i++ {
			for i-seen >= uint64(size) {
				seen = read.v.Load()
			}
			l := &lines[i&mask]
			for j := range l.data {
				l.data[j] = i
			}
			storeRelease(&l.seq, i+1)
		}
	})
	if err == nil && sum != 7*(total*(total-1)/2) {
		err = fmt.Errorf("raw stream: checksum %d, want %d", sum, 7*(total*(total-1)/2))
	}
	return samples(marks, per, err)
}

// URPCStream streams chunks times per messages of 56 bytes one way through
// a urpc ring of RingSize slots in batches: the producer sends batch
// messages and rings the doorbell once; the consumer receives up to batch
// messages and releases them once.
func URPCStream(chunks, per, batch int) (Samples, error) {
	return urpcStream(chunks, per, batch, RingSize)
}

func urpcStream(chunks, per, batch, size int) (Samples, error) {
	n := chunks * per
	w := warmup(n)
	total := w + n
	r := urpc.NewRing(size, urpc.NewDoorbell())
	bad := 0
	marks, err := pinnedPair(chunks+1, func(mark func()) {
		var m urpc.Msg
		next := w
		for i := 0; i < total; {
			got := 0
			for got < batch && i < total {
				if !r.Recv(&m) {
					if got > 0 {
						break
					}
					continue
				}
				if i == next {
					mark()
					next += per
				}
				if binary.LittleEndian.Uint64(m.Data[:]) != uint64(i) || m.Len != urpc.PayloadSize {
					bad++
				}
				got++
				i++
			}
			r.Release()
		}
		mark()
	}, func() {
		var buf [urpc.PayloadSize]byte
		for i := 0; i < total; {
			for k := 0; k < batch && i < total; k++ {
				binary.LittleEndian.PutUint64(buf[:], uint64(i))
				for !r.TrySend(3, buf[:], nil) {
				}
				i++
			}
			r.Notify()
		}
	})
	if err == nil && bad != 0 {
		err = fmt.Errorf("urpc stream: %d messages corrupted or out of order", bad)
	}
	return samples(marks, per, err)
}

// GoChanPingPong sends a value over an unbuffered channel and back, n times,
// between two goroutines that the Go runtime places as it likes, and
// returns the time of the n round trips.
func GoChanPingPong(n int) time.Duration {
	w := warmup(n)
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	var t0 time.Time
	for i := 0; i < w+n; i++ {
		if i == w {
			t0 = time.Now()
		}
		ping <- i
		<-pong
	}
	d := time.Since(t0)
	close(ping)
	<-pong
	return d
}
