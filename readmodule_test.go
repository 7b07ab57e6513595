package isle

import (
	"bytes"
	"testing"
)

// TestReadModuleOneBuffer checks that a module of known size is read into
// one buffer of about its size: bytes.Buffer's ReadFrom had doubled it
// before its last read (a copy, and page faults on megabytes nobody uses).
func TestReadModuleOneBuffer(t *testing.T) {
	const size = 3 << 20
	wasm := append([]byte("\x00asm"), make([]byte, size-4)...)
	got, err := readModule(bytes.NewReader(wasm), 256<<20, size)
	if err != nil || !bytes.Equal(got, wasm) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if c := cap(got); c > size+64<<10 {
		t.Fatalf("buffer of %d bytes for a module of %d", c, size)
	}
}
