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
	id, cname, src, name, err := decodeOpen(encodeOpen(7, imp))
	if err != nil || id != 7 || cname != "C" || src != string(imp.Source) || name != "kv" {
		t.Fatalf("open: %d %q %q %q %v", id, cname, src, name, err)
	}
	blocks := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{9}, 5000)}
	dir, id, msg, payload, got, err := decodeMsg(encodeMsg(dirReceivers, 9, 4, []byte("abc"), blocks), 8)
	if err != nil || dir != dirReceivers || id != 9 || msg != 4 || string(payload) != "abc" || len(got) != 3 ||
		!bytes.Equal(got[0], blocks[0]) || len(got[1]) != 0 || !bytes.Equal(got[2], blocks[2]) {
		t.Fatalf("msg: %d %d %d %q %d %v", dir, id, msg, payload, len(got), err)
	}
	if _, _, _, _, _, err := decodeMsg(encodeMsg(0, 1, 0, nil, blocks), 2); err == nil {
		t.Fatal("a frame with more blocks than allowed was accepted")
	}
	dir, id, err = decodeClose(encodeClose(dirSenders, 11))
	if err != nil || dir != dirSenders || id != 11 {
		t.Fatalf("close: %d %d %v", dir, id, err)
	}
}

// FuzzFrames: the decoders of frames from other nodes return an error or a
// frame whose parts lie inside the input, never panic; a decoded msg frame
// encodes back to the same bytes.
func FuzzFrames(f *testing.F) {
	f.Add(encodeOpen(1, Import{Name: "n", Source: []byte("s"), Contract: "c"}))
	f.Add(encodeMsg(1, 2, 3, []byte("payload"), [][]byte{{1}, {2, 3}}))
	f.Add(encodeClose(0, 5))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeOpen(b)
		decodeClose(b)
		dir, id, msg, payload, blocks, err := decodeMsg(b, 8)
		if err != nil {
			return
		}
		if again := encodeMsg(dir, id, contract.MsgID(msg), payload, blocks); !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, encoded back %x", b, again)
		}
	})
}
