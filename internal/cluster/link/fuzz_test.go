package link

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// bytesConn is a connection whose reads come from a byte slice, a few bytes
// at a time.
type bytesConn struct {
	net.Conn
	r     *bytes.Reader
	chunk int
}

func (c *bytesConn) Read(b []byte) (int, error) {
	if len(b) > c.chunk {
		b = b[:c.chunk]
	}
	return c.r.Read(b)
}

func (c *bytesConn) SetReadDeadline(time.Time) error { return nil }

// FuzzFrameReader: whatever a peer sends after the handshake, the reader
// returns frames whose payloads are exactly what their headers say, or an
// error; it never panics, and the frames it returns encode back to a prefix
// of the input.
func FuzzFrameReader(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, 1, []byte("hello")), 2, nil), 3)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, 1)
	f.Add(appendFrame(nil, 7, make([]byte, 600)), 100)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk < 1 || chunk > 1<<16 {
			chunk = 7
		}
		fr := newFrameReader(&bytesConn{r: bytes.NewReader(in), chunk: chunk}, 64)
		var out []byte
		for {
			kind, payload, err := fr.next()
			if err != nil {
				break
			}
			out = appendFrame(out, kind, payload) // the payload is valid until the next call
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("frames %x are not a prefix of the input %x", out, in)
		}
	})
}
