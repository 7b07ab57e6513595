package bench

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"isle/internal/urpc"
)

// The measurements below each return the time taken by n operations (round
// trips or messages) after a warm-up of n/8 more, between two threads pinned
// to two different CPUs. None of their loops allocates, locks or makes a
// system call.

// RingSize is the ring size the benchmarks use.
const RingSize = 256

func warmup(n int) int { return n/8 + 1 }

// paddedWord is a word alone on its cache line, whatever the alignment of
// the allocation: at least 56 bytes of padding on each side.
type paddedWord struct {
	_ [urpc.LineSize]byte
	v atomic.Uint64
	_ [2*urpc.LineSize - 8]byte
}

// RawCachelinePingPong bounces one cache line between the two CPUs n times
// there and back: each side waits for the other's value and writes its own.
// Half of a round trip is the physical limit of a message between cores.
func RawCachelinePingPong(n int) (time.Duration, error) {
	w := warmup(n)
	line := new(paddedWord)
	return pinnedPair(func(start func()) {
		v := uint64(0)
		for i := 0; i < w+n; i++ {
			if i == w {
				start()
			}
			storeRelease(&line.v, v+1)
			for line.v.Load() != v+2 {
			}
			v += 2
		}
	}, func() {
		v := uint64(0)
		for i := 0; i < w+n; i++ {
			for line.v.Load() != v+1 {
			}
			storeRelease(&line.v, v+2)
			v += 2
		}
	})
}

// URPCPingPong sends a message over one ring and its answer over another, n
// times. Both sides poll; the doorbells are rung (the flag is read) but
// nobody sleeps.
func URPCPingPong(n int) (time.Duration, error) {
	w := warmup(n)
	ab := urpc.NewRing(RingSize, urpc.NewDoorbell())
	ba := urpc.NewRing(RingSize, urpc.NewDoorbell())
	bad := atomic.Uint64{}
	d, err := pinnedPair(func(start func()) {
		var m urpc.Msg
		var buf [8]byte
		for i := 0; i < w+n; i++ {
			if i == w {
				start()
			}
			binary.LittleEndian.PutUint64(buf[:], uint64(i))
			ab.Send(1, buf[:], nil)
			for !ba.Recv(&m) {
			}
			ba.Release()
			if binary.LittleEndian.Uint64(m.Data[:]) != uint64(i) {
				bad.Add(1)
			}
		}
	}, func() {
		var m urpc.Msg
		for i := 0; i < w+n; i++ {
			for !ab.Recv(&m) {
			}
			ab.Release()
			ba.Send(2, m.Payload(), nil)
		}
	})
	if err == nil && bad.Load() != 0 {
		err = fmt.Errorf("urpc ping-pong: %d answers corrupted", bad.Load())
	}
	return d, err
}

// rawLine is one 64-byte line of the raw stream: seq is written last.
type rawLine struct {
	seq  atomic.Uint64
	data [7]uint64
}

// RawStream streams n 64-byte lines one way through a ring of RingSize
// lines with no protocol beyond the least a bounded buffer needs: the
// producer fills a line and stores its sequence number last; the consumer
// waits for that number, reads the line and, every half ring, stores how far
// it has read, which the producer reads only when it has caught up.
func RawStream(n int) (time.Duration, error) {
	w := warmup(n)
	total := uint64(w + n)
	lines := alignedLines(RingSize)
	var read paddedWord
	mask := uint64(RingSize - 1)
	var sum uint64
	d, err := pinnedPair(func(start func()) {
		for i := uint64(0); i < total; i++ {
			if i == uint64(w) {
				start()
			}
			l := &lines[i&mask]
			for l.seq.Load() != i+1 {
			}
			for _, x := range l.data {
				sum += x
			}
			if (i+1)&(RingSize/2-1) == 0 {
				storeRelease(&read.v, i+1)
			}
		}
	}, func() {
		seen := uint64(0)
		for i := uint64(0); i < total; i++ {
			for i-seen >= RingSize {
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
	return d, err
}

// URPCStream streams n messages of 56 bytes one way through a urpc ring of
// RingSize slots in batches: the producer sends batch messages and rings the
// doorbell once; the consumer receives up to batch messages and releases
// them once.
func URPCStream(n, batch int) (time.Duration, error) {
	w := warmup(n)
	total := uint64(w + n)
	r := urpc.NewRing(RingSize, urpc.NewDoorbell())
	var bad uint64
	d, err := pinnedPair(func(start func()) {
		var m urpc.Msg
		for i := uint64(0); i < total; {
			got := 0
			for got < batch && i < total {
				if !r.Recv(&m) {
					if got > 0 {
						break
					}
					continue
				}
				if binary.LittleEndian.Uint64(m.Data[:]) != i || m.Len != urpc.PayloadSize {
					bad++
				}
				got++
				i++
				if i == uint64(w) {
					start()
				}
			}
			r.Release()
		}
	}, func() {
		var buf [urpc.PayloadSize]byte
		for i := uint64(0); i < total; {
			for k := 0; k < batch && i < total; k++ {
				binary.LittleEndian.PutUint64(buf[:], i)
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
	return d, err
}

// GoChanPingPong sends a value over an unbuffered channel and back, n times,
// between two goroutines that the Go runtime places as it likes.
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
