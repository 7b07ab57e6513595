package urpc

import (
	"sync"
	"testing"
)

// TestInboxLazy: an inbox makes a ring only for a producer that sends, and
// its consumer receives every message of every producer that appears while
// it polls, Refresh picking up their rings.
func TestInboxLazy(t *testing.T) {
	bell := NewDoorbell()
	const producers, msgs = 8, 1000
	b := NewInbox(64, 16, bell)
	if b.Rings() != 0 {
		t.Fatalf("a fresh inbox holds %d rings", b.Rings())
	}
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			r := b.Ring(p * 7)
			for k := 0; k < msgs; k++ {
				for !r.Send(uint8(p), []byte{byte(k)}, nil) {
				}
			}
		}(p)
	}
	var rings []*Ring
	var from []int
	got := make([]int, producers)
	var m Msg
	for total := 0; total < producers*msgs; {
		b.Refresh(func(i int, r *Ring) { rings = append(rings, r); from = append(from, i) })
		for _, r := range rings {
			for r.Recv(&m) {
				if int(m.Data[0]) != got[m.Type]%256 {
					t.Fatalf("producer %d: message %d out of order", m.Type, got[m.Type])
				}
				got[m.Type]++
				total++
			}
			r.Release()
		}
	}
	wg.Wait()
	if b.Rings() != producers || len(rings) != producers {
		t.Errorf("%d rings made, %d handed to the consumer; want %d", b.Rings(), len(rings), producers)
	}
	for _, i := range from {
		if i%7 != 0 {
			t.Errorf("a ring for producer %d, which never sent", i)
		}
	}
	if b.Refresh(func(int, *Ring) { t.Error("a ring handed twice") }) {
		t.Error("Refresh found rings when none was new")
	}
}
