package gateway

import (
	"bytes"
	"testing"

	"isle/internal/contract"
)

// TestFramesRoundTrip: what encodeOpen, encodeMsg and encodeClose write, the
// decoders read back.
func TestFramesRoundTrip(t *testing.T) {
	imp := Import{Name: "kv", Node: 3, Source: []byte("contract C {}"), Contract: "C"}
	oid, cname, src, name, err := decodeOpen(encodeOpen(7, imp))
	if err != nil || oid != 7 || cname != "C" || src != string(imp.Source) || name != "kv" {
		t.Fatalf("open: %d %q %q %q %v", oid, cname, src, name, err)
	}
	blocks := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{9}, 5000)}
	refs := []carried{{id: 5, state: 2}, {id: 1 << 40, state: 0}}
	m, err := decodeMsg(encodeMsg(dirReceivers, 9, 4, []byte("abc"), blocks, refs), 8)
	got := m.blocks
	if err != nil || m.dir != dirReceivers || m.id != 9 || m.msg != 4 || string(m.payload) != "abc" || len(got) != 3 ||
		!bytes.Equal(got[0], blocks[0]) || len(got[1]) != 0 || !bytes.Equal(got[2], blocks[2]) ||
		len(m.refs) != 2 || m.refs[0] != refs[0] || m.refs[1] != refs[1] {
		t.Fatalf("msg: %+v %v", m, err)
	}
	if _, err := decodeMsg(encodeMsg(0, 1, 0, nil, blocks, nil), 2); err == nil {
		t.Fatal("a frame with more blocks than allowed was accepted")
	}
	dir, id, err := decodeClose(encodeClose(dirSenders, 11))
	if err != nil || dir != dirSenders || id != 11 {
		t.Fatalf("close: %d %d %v", dir, id, err)
	}
}

// FuzzFrames: the decoders of frames from other nodes return an error or a
// frame whose parts lie inside the input, never panic; a decoded msg frame
// encodes back to the same bytes.
func FuzzFrames(f *testing.F) {
	f.Add(encodeOpen(1, Import{Name: "n", Source: []byte("s"), Contract: "c"}))
	f.Add(encodeMsg(1, 2, 3, []byte("payload"), [][]byte{{1}, {2, 3}}, []carried{{7, 1}}))
	f.Add(encodeClose(0, 5))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeOpen(b)
		decodeClose(b)
		m, err := decodeMsg(b, 8)
		if err != nil {
			return
		}
		if again := encodeMsg(m.dir, m.id, contract.MsgID(m.msg), m.payload, m.blocks, m.refs); !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, encoded back %x", b, again)
		}
	})
}
