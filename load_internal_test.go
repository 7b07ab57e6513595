package isle

import (
	"io"
	"strings"
	"testing"
)

// endless is a stream that starts with the WebAssembly magic number and
// never ends, like a pipe from a hostile producer.
type endless struct{ off int }

func (e *endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 0
		if e.off < 4 {
			b[i] = "\x00asm"[e.off]
		}
		e.off++
	}
	return len(b), nil
}

// TestReadModuleLimit: a stream is read up to the limit and no further,
// whatever size it claims; a stream without the magic number is left after
// its first 4 bytes; a module of exactly the limit is read whole.
func TestReadModuleLimit(t *testing.T) {
	e := &endless{}
	_, err := readModule(e, 1<<20, 0)
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("endless stream: %v", err)
	}
	if e.off > 1<<20+64<<10 {
		t.Errorf("read %d bytes of an endless stream with a 1 MiB limit", e.off)
	}
	zeros := &countingZeros{}
	if b, err := readModule(zeros, 1<<20, 0); err != nil || len(b) != 4 || zeros.n != 4 {
		t.Errorf("/dev/zero: %d bytes, %v, read %d", len(b), err, zeros.n)
	}
	exact := io.LimitReader(&endless{}, 1<<20)
	if b, err := readModule(exact, 1<<20, 1<<40); err != nil || len(b) != 1<<20 {
		t.Errorf("a module of exactly the limit: %d bytes, %v", len(b), err)
	}
}

// countingZeros is /dev/zero, counting what was read.
type countingZeros struct{ n int }

func (z *countingZeros) Read(b []byte) (int, error) {
	clear(b)
	z.n += len(b)
	return len(b), nil
}
