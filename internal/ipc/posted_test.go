package ipc

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestPostedFallsBack: where a posted receive cannot take a message the
// moment it arrives, the message takes the usual path (a packet, queued)
// and the receive answers exactly as it does without posting: the same
// errors, the same sizes, in order.
func TestPostedFallsBack(t *testing.T) {
	for _, tc := range fallbackCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := newCrossCore(t, 2)
			h := c.imp
			if tc.setup != nil {
				if w := tc.setup(t, c); w != 0 {
					h = w
				}
			}
			buf := make([]byte, tc.cap)
			c.b.PostRecv(h, buf)
			tc.arrive(t, c)
			if c.m.woken[c.b] != tc.wake {
				t.Fatalf("the receiver was woken %d times, want %d", c.m.woken[c.b], tc.wake)
			}
			if info, ok := c.b.TakePosted(h); ok {
				t.Fatalf("the posted receive took %+v", info)
			}
			if !bytes.Equal(buf, make([]byte, tc.cap)) {
				t.Fatalf("the posted buffer was written: %x", buf)
			}
			tc.then(t, c)
			if q, early := c.queued(); q != 0 || early != 0 {
				t.Fatalf("%d messages left queued and %d early", q, early)
			}
		})
	}
}

// fallbackCase is one case of TestPostedFallsBack.
type fallbackCase struct {
	name string
	cap  int // the posted buffer's size
	// setup runs before the receive is posted, and returns the
	// endpoint it waits on (0: the stream's).
	setup  func(*testing.T, *crossCore) Handle
	arrive func(*testing.T, *crossCore) // what arrives while it waits
	then   func(*testing.T, *crossCore) // the receives after it
	wake   int                          // the wakes the arrival makes
}

func fallbackCases() []fallbackCase {
	return []fallbackCase{
		{"buffer too small", 4, nil, func(t *testing.T, c *crossCore) { item(t, c, 7) }, func(t *testing.T, c *crossCore) {
			if info, err := c.b.Recv(c.m.port(1), c.imp, make([]byte, 4), nil); err != ErrTooBig || info.Len != 8 {
				t.Fatalf("recv into 4 bytes: %+v %v, want ErrTooBig and 8 bytes needed", info, err)
			}
			recvItem(t, c, 7)
		}, 1},
		{"queued ahead", 64, func(t *testing.T, c *crossCore) Handle {
			item(t, c, 1) // queued before the receive is posted
			return 0
		}, func(t *testing.T, c *crossCore) { item(t, c, 2) }, func(t *testing.T, c *crossCore) {
			recvItem(t, c, 1)
			recvItem(t, c, 2)
		}, 1},
		{"over its quota", 64, nil, func(t *testing.T, c *crossCore) {
			c.b.queuedHandles = c.m.sys.limits.Handles // as an adoption can leave a table
			item(t, c, 7)
		}, func(t *testing.T, c *crossCore) {
			if _, err := c.b.Recv(c.m.port(1), c.imp, make([]byte, 64), nil); err != ErrQuota {
				t.Fatalf("recv over quota: %v, want ErrQuota", err)
			}
			c.b.queuedHandles = 0
			recvItem(t, c, 7)
		}, 1},
		{"a close", 64, nil, func(t *testing.T, c *crossCore) {
			if err := c.a.Close(c.m.port(0), c.exp); err != nil {
				t.Fatal(err)
			}
			c.m.settle()
		}, func(t *testing.T, c *crossCore) {
			if info, _ := recvOK(t, c.b, c.m.port(1), c.imp); info.Msg != MsgClosed {
				t.Fatalf("received %+v, want Closed", info)
			}
		}, 1},
		{"a packet", 64, nil, func(t *testing.T, c *crossCore) {
			bulk := enc(t, c.st, "Bulk", uint64(5), make([]byte, MaxInlinePayload))
			if err := c.a.Send(c.m.port(0), c.exp, msgID(c.st, "Bulk"), bulk, nil); err != nil {
				t.Fatal(err)
			}
			c.m.settle()
		}, func(t *testing.T, c *crossCore) {
			if info, body := recvOK(t, c.b, c.m.port(1), c.imp); info.Msg != msgID(c.st, "Bulk") || binary.LittleEndian.Uint64(body) != 5 {
				t.Fatalf("received %+v %x, want the bulk item 5", info, body)
			}
		}, 1},
		{"another endpoint", 64, func(t *testing.T, c *crossCore) Handle {
			other, _, _ := c.b.NewChannel(c.m.port(1), c.st)
			return other
		}, func(t *testing.T, c *crossCore) { item(t, c, 7) }, func(t *testing.T, c *crossCore) { recvItem(t, c, 7) }, 0},
	}
}

// item sends Item(n) across and lets it arrive.
func item(t *testing.T, c *crossCore, n uint64) {
	t.Helper()
	c.sendItem(t, n)
	c.m.settle()
}

// recvItem receives Item(n) on b's end.
func recvItem(t *testing.T, c *crossCore, n uint64) {
	t.Helper()
	if info, body := recvOK(t, c.b, c.m.port(1), c.imp); info.Msg != msgID(c.st, "Item") || binary.LittleEndian.Uint64(body) != n {
		t.Fatalf("received %v %x, want the item %d", info, body, n)
	}
}

// TestPostedStepsAndAcknowledges: a message received into a posted receive
// steps the receiver's contract once, as a receive does, and the
// acknowledgement it carries returns what the receiver had queued to the
// sender.
func TestPostedStepsAndAcknowledges(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	pp := set.Lookup("PingPong")
	imp, exp, _ := a.NewChannel(p0, pp)
	exp = moveTo(t, m, a, b, exp, 0, 1)
	ping := msgID(pp, "Ping")
	send := func(tab *Table, p Port, h Handle, name string, seq uint64, n int) error {
		return tab.Send(p, h, msgID(pp, name), enc(t, pp, name, seq, make([]byte, n)), nil)
	}
	// A round whose Pong is a packet, charged to b until a has received it
	// and says so.
	if err := send(a, p0, imp, "Ping", 1, 1); err != nil {
		t.Fatal(err)
	}
	m.settle()
	recvOK(t, b, p1, exp)
	if err := send(b, p1, exp, "Pong", 1, MaxInlinePayload); err != nil {
		t.Fatal(err)
	}
	m.settle()
	recvOK(t, a, p0, imp)
	if _, bytes := b.Queued(); bytes == 0 {
		t.Fatal("the Pong sent as a packet is not charged to b")
	}
	buf := make([]byte, 64)
	b.PostRecv(exp, buf)
	if err := send(a, p0, imp, "Ping", 2, 1); err != nil { // inline, with the acknowledgement
		t.Fatal(err)
	}
	m.settle()
	info, ok := b.TakePosted(exp)
	if !ok || info.Msg != ping {
		t.Fatalf("the posted receive got %+v, %v; want the Ping", info, ok)
	}
	if h, bytes := b.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("b is still charged %d handles and %d bytes: the Ping's acknowledgement was not applied", h, bytes)
	}
	if err := send(b, p1, exp, "Pong", 2, 1); err != nil {
		t.Fatalf("the Pong after the posted Ping: %v (the contract was not stepped)", err)
	}
	wantErr(t, send(b, p1, exp, "Pong", 3, 1), ErrNotAllowed) // stepped once, not twice
}

// TestPostedRouteUpdate: a message received into a posted receive after a
// detour (the receiver's SIP moved since its peer learned where it was)
// brings the route update all the same, and the next goes direct.
func TestPostedRouteUpdate(t *testing.T) {
	c := newCrossCore(t, 3)
	c.m.where[c.b] = 2 // b's SIP has moved from core 1 to core 2
	buf := make([]byte, 64)
	for n := uint64(1); n <= 2; n++ {
		c.b.PostRecv(c.imp, buf)
		c.sendItem(t, n)
		c.m.settle()
		if info, ok := c.b.TakePosted(c.imp); !ok || binary.LittleEndian.Uint64(buf[:info.Len]) != n {
			t.Fatalf("the posted receive got %+v, %v, %x; want the item %d", info, ok, buf, n)
		}
		if c.m.forwarded != 1 {
			t.Fatalf("after item %d, %d deliveries detoured, want 1 (the first)", n, c.m.forwarded)
		}
	}
	if c.m.bad != "" {
		t.Fatal(c.m.bad)
	}
}

// TestPostedSIPEnded: a SIP that ended while it waited in a posted receive
// gets nothing written into its memory.
func TestPostedSIPEnded(t *testing.T) {
	c := newCrossCore(t, 2)
	buf := make([]byte, 64)
	c.b.PostRecv(c.imp, buf)
	c.sendItem(t, 7) // crosses b's close
	c.b.CloseAll(c.m.port(1))
	c.m.settle()
	if !bytes.Equal(buf, make([]byte, 64)) || c.m.woken[c.b] != 0 {
		t.Fatalf("a receive posted by a SIP that ended got %x (woken %d times)", buf, c.m.woken[c.b])
	}
}
