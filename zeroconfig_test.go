package isle_test

import (
	"context"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// TestZeroConfigBoots: the zero Config is a useful machine, as its doc
// says: one core per host CPU, as NewConfig's, and a console with nothing
// on stdin (a read finds its end at once) and nowhere for output to go (a
// program that writes runs to its end).
func TestZeroConfigBoots(t *testing.T) {
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.Config{})
	if err != nil {
		t.Fatalf("Boot(Config{}): %v", err)
	}
	defer m.Stop(ctx)
	if m.Cores() != isle.HostCPUs() {
		t.Errorf("%d cores, want one per host CPU (%d)", m.Cores(), isle.HostCPUs())
	}
	wasm := testprog.C(t, `#include <stdio.h>
#include <unistd.h>
int main(void) {
	char b[64];
	ssize_t n = read(0, b, sizeof b);
	printf("read %zd bytes\n", n);
	fflush(stdout);
	return n == 0 ? 7 : 1;
}
`)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"readstdin"})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Wait(); st.Status() != 7 {
		t.Fatalf("exit %+v, want 7: stdin was not empty", st)
	}
}
