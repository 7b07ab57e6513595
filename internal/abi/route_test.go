package abi_test

import (
	"context"
	"strings"
	"testing"

	"isle"
)

// TestStreamAcrossMoves: a receiver that moves to another core every 200
// items, 25 times in all, while a sender on another core streams 5,000 items to
// it (inline and as packets, backing off on a full queue) gets every item
// once and in order; and the route updates keep the kernel's detours to a
// fraction of the messages (every message after a move detoured before).
func TestStreamAcrossMoves(t *testing.T) {
	prog := buildC(t, "internal/abi/testdata/streammove.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(3).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	p, err := m.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	const items = "5000"
	recv, err := m.SpawnOn(p, []string{"streammove", "recv", items}, 0)
	if err != nil {
		t.Fatal(err)
	}
	send, err := m.SpawnOn(p, []string{"streammove", "send", items}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st := recv.Wait(); st.Status() != 0 {
		t.Fatalf("receiver: %+v; stderr %s", st, errs.String())
	}
	if st := send.Wait(); st.Status() != 0 {
		t.Fatalf("sender: %+v; stderr %s", st, errs.String())
	}
	m.Stop(ctx)
	if want := "received " + items + " items in order, moved 25 times\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
	var forwarded, moved uint64
	for _, st := range m.Stats() {
		forwarded += st.Forwarded
		moved += st.MigratedIn
	}
	t.Logf("%d migrations, %d deliveries forwarded", moved, forwarded)
	// With route updates only what is in flight at a move detours: at most
	// a queue's bound (128) per move, 3,200 in all. Without, every message
	// after the first move does, 4,800 or more (6,600-6,900 measured).
	if forwarded > 4000 {
		t.Errorf("%d of 5000 deliveries took a detour", forwarded)
	}
}
