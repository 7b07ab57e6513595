package isle_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// spawnerMessages runs bench/testdata/spawner.c on a fresh one-core machine,
// spawning /bin/true.wasm once and then n times, and returns the urpc
// messages the core sent (to services and cores) in all.
func spawnerMessages(t *testing.T, bin string, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, &out, io.Discard).WithDir(isle.Dir{Host: bin, Guest: "/bin"}))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, guestC(t, "bench", "testdata", "spawner.c"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, n} {
		if k == 0 {
			continue
		}
		p, err := m.SpawnOn(prog, []string{"spawner", "/bin/true.wasm", strconv.Itoa(k)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("spawner: status %d: %s", st.Status(), out.String())
		}
	}
	m.Stop(ctx)
	var sent uint64
	for _, s := range m.Stats() {
		sent += s.MsgsSent
	}
	return sent
}

// TestSpawnOfALoadedProgramSkipsTheLoader: once a program is loaded, a SIP
// that spawns it again takes it from the loader's published table on its
// own core: 100 more spawns send no message (each asked the loader
// service, and waited for its reply, before).
func TestSpawnOfALoadedProgramSkipsTheLoader(t *testing.T) {
	bin := t.TempDir()
	tr, err := os.ReadFile(guestC(t, "bench", "testdata", "true.c"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "true.wasm"), tr, 0o644)
	base := spawnerMessages(t, bin, 0)
	more := spawnerMessages(t, bin, 100)
	t.Logf("messages: %d for one spawn, %d for 101", base, more)
	if more-base >= 50 {
		t.Errorf("100 more spawns of a loaded program sent %d more messages", more-base)
	}
}

// TestSpawnSeesAProgramChanged: a parent SIP spawns /bin/child.wasm each
// time it reads a line; the file is overwritten, then replaced by a rename,
// between spawns, and each spawn runs what the file holds then.
func TestSpawnSeesAProgramChanged(t *testing.T) {
	ctx := context.Background()
	bin := t.TempDir()
	exit := func(code int) []byte {
		b, err := os.ReadFile(testprog.C(t, "int main(void) { return "+strconv.Itoa(code)+"; }\n"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	child := filepath.Join(bin, "child.wasm")
	os.WriteFile(child, exit(3), 0o644)
	stdin, feed := io.Pipe()
	out := &lineCounter{done: make(chan struct{})}
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(stdin, out, os.Stderr).WithDir(isle.Dir{Host: bin, Guest: "/bin"}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	parent, err := m.Load(ctx, guestC(t, "testdata", "spawnlines.c"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.SpawnOn(parent, []string{"spawnlines", "/bin/child.wasm"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	spawn := func(want string) {
		t.Helper()
		lines++
		out.mu.Lock()
		out.want, out.done = lines, make(chan struct{})
		out.mu.Unlock()
		feed.Write([]byte("go\n"))
		<-out.done
		out.mu.Lock()
		got := strings.Split(strings.TrimSpace(out.buf.String()), "\n")
		out.mu.Unlock()
		if got[len(got)-1] != want {
			t.Errorf("spawn %d: %q, want %q", lines, got[len(got)-1], want)
		}
	}
	spawn("exited 3")
	spawn("exited 3")
	os.WriteFile(child, exit(5), 0o644) // overwritten in place
	spawn("exited 5")
	tmp := filepath.Join(bin, "new.wasm")
	os.WriteFile(tmp, exit(3), 0o644)
	os.Rename(tmp, child) // replaced
	spawn("exited 3")
	spawn("exited 3")
	feed.Close()
	if st := p.Wait(); st.Status() != 0 {
		t.Errorf("parent: status %d", st.Status())
	}
}
