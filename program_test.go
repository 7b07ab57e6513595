package isle_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// lineWriter is a program's stdout that tells, on seen, when a line
// holding want has been written.
type lineWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func newLineWriter(want string) *lineWriter {
	return &lineWriter{want: want, seen: make(chan struct{})}
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

// awaitLine waits until w has seen its line, failing the test after d.
func awaitLine(t *testing.T, w *lineWriter, d time.Duration) {
	t.Helper()
	select {
	case <-w.seen:
	case <-time.After(d):
		t.Fatalf("no %q from the program within %v", w.want, d)
	}
}

// readyThenRead says "ready", reads one character and exits with 7.
const readyThenRead = `#include <stdio.h>
int main(void) {
	puts("ready");
	fflush(stdout);
	getchar();
	return 7;
}
`

// TestProgramClose: closing a program leaves its running SIP to run to its
// end, refuses a later spawn of it with a one-line error, and is idempotent.
func TestProgramClose(t *testing.T) {
	wasm := testprog.C(t, readyThenRead)
	ctx := context.Background()
	stdin, feed := io.Pipe()
	out := newLineWriter("ready\n")
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(stdin, out, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"reader"})
	if err != nil {
		t.Fatal(err)
	}
	awaitLine(t, out, 10*time.Second)
	if err := prog.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	feed.Write([]byte("x"))
	if st := p.Wait(); st.Status() != 7 {
		t.Errorf("the SIP running the closed program ended %+v, want exit 7", st)
	}
	if _, err := m.Spawn(prog, []string{"reader"}); err == nil || !strings.Contains(err.Error(), "program closed") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Spawn after Close: %v, want one line saying the program is closed", err)
	}
	if err := prog.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
