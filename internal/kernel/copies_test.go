package kernel

import (
	"testing"
	"unsafe"

	"isle/internal/urpc"
)

// seenData is a DataDeliverable without a target (it runs on the core it
// is sent to) that reports where its data lay and what it said.
type seenData struct{ seen chan<- seen }

type seen struct {
	addr uintptr
	data string
}

func (d seenData) DeliverData(c *Core, data []byte) {
	d.seen <- seen{uintptr(unsafe.Pointer(&data[0])), string(data)}
}

// TestDataDeliveredInPlace: the data of a DataDeliverable reaches the
// receiving core's DeliverData in the message's slot itself, not through a
// copy (a Msg, a buffer of the core's): two messages in a row on one ring
// are read from two different slots, whole cache lines apart, and each says
// what its two parts, head and body, said.
func TestDataDeliveredInPlace(t *testing.T) {
	m, err := New(Config{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.Boot()
	defer m.Stop()
	ch := make(chan seen, 2)
	m.Deliver(0, fnDeliver(func(c *Core) {
		c.SendData(1, seenData{ch}, []byte("head-1:"), []byte("the first body"))
		c.SendData(1, seenData{ch}, []byte("head-2:"), []byte("the second body"))
	}))
	a, b := <-ch, <-ch
	if a.data != "head-1:the first body" || b.data != "head-2:the second body" {
		t.Fatalf("delivered %q and %q", a.data, b.data)
	}
	d := int64(b.addr) - int64(a.addr)
	if d == 0 || d%urpc.LineSize != 0 {
		t.Fatalf("the second delivery's data lay %d bytes from the first's: want a different slot of the ring (a nonzero multiple of %d)", d, urpc.LineSize)
	}
}
