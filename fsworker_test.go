package isle_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// TestSlowOpenHoldsNoWorker: a SIP whose open blocks on the host (here a
// FIFO with no writer; a file created on a busy disk took a millisecond,
// and the hostile attack fdhog creates 1,024) holds up only itself, not the
// file-system worker that other SIPs share: on one core (one worker) a
// second SIP makes its file calls and ends while the first one's open
// waits. Before, the second waited until the FIFO got a writer.
func TestSlowOpenHoldsNoWorker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// The blocked open ends when the FIFO gets a writer: at the end of the
	// test, whatever happened, so that the machine can stop.
	unblock := func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}
	out := newWatch()
	m, err := isle.Boot(ctx, config().WithCores(1).WithDir(isle.Dir{Host: dir, Guest: "/d"}).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	defer unblock()
	reader := testprog.C(t, `#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
	printf("opening\n");
	fflush(stdout);
	int fd = open("/d/fifo", O_RDONLY);
	if (fd < 0) { perror("open"); return 1; }
	char b[8];
	read(fd, b, sizeof b);
	printf("reader: done\n");
	return 0;
}
`)
	rp, err := m.Load(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := m.Load(ctx, testdataC(t, "fscalls"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	r, err := m.Spawn(rp, []string{"reader"})
	if err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "opening\n", deadline)
	p, err := m.Spawn(calls, []string{"fscalls", "50"})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, p, deadline, "a SIP beside the blocked open"); st.Status() != 0 {
		t.Fatalf("fscalls: status %d; output:\n%s", st.Status(), out.String())
	}
	unblock()
	if st := waitDone(t, r, deadline, "the reader"); st.Status() != 0 {
		t.Fatalf("reader: status %d; output:\n%s", st.Status(), out.String())
	}
}
