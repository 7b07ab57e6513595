package ipc

import (
	"encoding/binary"
	"testing"

	"isle/internal/contract"
)

// FuzzOps drives tables on two cores with an operation stream read from
// the fuzzer's bytes — channels, blocks, sends of any message with any
// payload and any handles, receives, closes, deliveries — and checks after
// every step that ownership is linear: every endpoint and block is in at
// most one table or one packet, and the tables' counts match their slots.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 0, 1, 0, 3, 0, 1, 4, 5, 5, 3, 1})
	f.Add([]byte{0, 1, 0, 1, 1, 0, 2, 1, 0, 2, 3, 4, 2, 5, 5, 5, 6, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newFake(2)
		tabs := []*Table{m.sys.NewTable(0), m.sys.NewTable(1)}
		m.sys.limits.Handles = 16
		m.sys.limits.HeapBytes = 4096
		contracts := []string{"PingPong", "Carrier", "Stream"}
		next := func() byte {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return b
		}
		handle := func(tab *Table) Handle {
			b := next()
			if b >= 0xF0 || len(tab.slots) == 0 {
				return Handle(b) << 8 // forged
			}
			i := int(b) % len(tab.slots)
			return makeHandle(uint32(i), tab.slots[i].gen)
		}
		for len(ops) > 0 {
			ti := int(next()) % 2
			tab, p := tabs[ti], m.port(ti)
			switch next() % 8 {
			case 0:
				tab.NewChannel(p, set.Lookup(contracts[int(next())%3]))
			case 1:
				tab.Alloc(int64(next()) * 16)
			case 2, 3:
				h := handle(tab)
				msg := uint16(next() % 4)
				payload := make([]byte, 0, 16)
				switch next() % 3 {
				case 0: // an endpoint field
					payload = binary.LittleEndian.AppendUint32(payload, uint32(handle(tab)))
				case 1: // a u64 and an empty bytes field
					payload = append(payload, next(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
				default:
					for range next() % 8 {
						payload = append(payload, next())
					}
				}
				var blocks []Handle
				if next()%4 == 0 {
					blocks = append(blocks, handle(tab))
				}
				tab.Send(p, h, uint16ToMsg(msg), payload, blocks)
			case 4:
				var bh [8]Handle
				tab.Recv(p, handle(tab), make([]byte, int(next())%32), bh[:int(next())%3])
			case 5:
				tab.Close(p, handle(tab))
			case 6:
				m.deliverOne(nil)
			case 7:
				// Hand an endpoint to the other table the way a receive would.
				h := handle(tab)
				if e, err := tab.endpoint(h); err == nil && tabs[1-ti].room(1, 0) {
					tab.remove(h)
					tabs[1-ti].put(e, nil)
				}
			}
			checkLinear(t, m, tabs)
		}
		m.settle()
		checkLinear(t, m, tabs)
	})
}

func checkLinear(t *testing.T, m *fakeMachine, tabs []*Table) {
	t.Helper()
	owners := map[any]string{}
	claim := func(obj any, who string) {
		if prev, ok := owners[obj]; ok {
			t.Fatalf("%T owned twice: by %s and by %s", obj, prev, who)
		}
		owners[obj] = who
	}
	var queued func(e *Endpoint, who string)
	visitPacket := func(pkt *Packet, who string) {
		for _, ce := range pkt.eps {
			claim(ce, who)
			queued(ce, who)
		}
		for _, b := range pkt.blocks {
			claim(b, who)
		}
	}
	queued = func(e *Endpoint, who string) {
		for _, q := range e.queue[e.qhead:] {
			visitPacket(q, who+" queue")
		}
		for _, q := range e.early {
			visitPacket(q, who+" early")
		}
	}
	for ti, tab := range tabs {
		live, heap := 0, int64(0)
		for i, sl := range tab.slots {
			switch {
			case sl.ep != nil:
				live++
				claim(sl.ep, "table")
				if sl.ep.table != tab || sl.ep.handle != makeHandle(uint32(i), sl.gen) {
					t.Fatalf("table %d slot %d: endpoint's back pointer is wrong", ti, i)
				}
				queued(sl.ep, "table")
			case sl.blk != nil:
				live++
				heap += int64(len(sl.blk.data))
				claim(sl.blk, "table")
			}
		}
		if live != tab.live || heap != tab.heap || live > m.sys.limits.Handles || heap > m.sys.limits.HeapBytes {
			t.Fatalf("table %d: %d/%d handles, %d/%d bytes", ti, live, tab.live, heap, tab.heap)
		}
	}
	for _, q := range m.rings {
		for _, pkt := range q {
			visitPacket(pkt, "ring")
		}
	}
}

func uint16ToMsg(v uint16) contract.MsgID { return contract.MsgID(v) }
