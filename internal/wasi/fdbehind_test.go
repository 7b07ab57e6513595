package wasi

import "testing"

// TestOverlaySpans: a read made on the core while writes behind are in
// flight is answered as if they had been applied, in their order (a later
// write over an earlier one wins); a write on another host file is left
// out; a short read with a write in flight past its end, or a write on a
// file not known to be another, cannot be answered so.
func TestOverlaySpans(t *testing.T) {
	a := &fdEntry{dev: 1, ino: 10 | 1<<63}
	a2 := &fdEntry{dev: 1, ino: 10 | 1<<63} // another fd of the same file
	b := &fdEntry{dev: 1, ino: 11 | 1<<63}
	unknown := &fdEntry{}
	pend := []pendWrite{
		{e: a, off: 0, data: []byte("AAAA")},
		{e: b, off: 0, data: []byte("bbbbbbbb")},
		{e: a2, off: 2, data: []byte("CC")},
		{e: a, off: 10, data: []byte("DD")},
	}
	// A read of 8 bytes at 1, the host's bytes old ("........").
	got := []byte("........")
	spans, ok := overlaySpans(pend, a2, 1, 8, 8, nil)
	if !ok {
		t.Fatal("a full read could not be answered")
	}
	for _, sp := range spans {
		copy(got[sp.at:], sp.data)
	}
	if want := "ACC....."; string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
	// Short: the host had 8 bytes from 1, but a write ends at 12.
	if _, ok := overlaySpans(pend, a, 1, 8, 16, nil); ok {
		t.Fatal("a short read answered while a write in flight lies past it")
	}
	// Short, nothing past it: answered.
	if _, ok := overlaySpans(pend[:3], a, 1, 8, 16, nil); !ok {
		t.Fatal("a short read with nothing in flight past it")
	}
	// A write on a file not known: not answered on the core.
	if _, ok := overlaySpans(append(pend, pendWrite{e: unknown, data: []byte("x")}), a, 0, 4, 4, nil); ok {
		t.Fatal("answered with a write in flight on a file not known")
	}
	// Another file's writes only: nothing laid over.
	spans, ok = overlaySpans(pend[1:2], a, 0, 4, 4, nil)
	if !ok || len(spans) != 0 {
		t.Fatalf("another file's write laid over: %v %v", spans, ok)
	}
}
