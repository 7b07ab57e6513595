package isle_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// orderServerC answers each Ping with a Pong after printing a line, and
// then computes for a while before its next receive: its line is held in
// the SIP (docs/wasi.md, "Console output") unless the send releases it.
const orderServerC = `#include <stdio.h>
#include "pingpong.h"
static uint8_t buf[256];
static volatile unsigned long sink;
int main(void) {
	isle_handle listener;
	PingPong_exp client;
	if (PingPong_register("order", &listener) || PingPong_accept(listener, &client)) return 1;
	for (;;) {
		PingPong_msg m;
		if (PingPong_exp_recv(client, &m, buf, sizeof buf) || m.id != PingPong_Ping_ID) break;
		printf("server %llu\n", (unsigned long long)m.u.Ping.seq);
		fflush(stdout); /* out of libc's buffer: into isle's console hold */
		if (PingPong_exp_send_Pong(client, m.u.Ping.seq, isle_b("", 0))) return 1;
		for (unsigned long i = 0; i < 20000000; i++) sink += i; /* many ms */
	}
	return 0;
}
`

// orderClientC sends N Pings and prints a line for each Pong.
const orderClientC = `#include <stdio.h>
#include <stdlib.h>
#include "pingpong.h"
static uint8_t buf[256];
int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 3;
	PingPong_imp srv;
	PingPong_msg m;
	if (PingPong_lookup("order", &srv)) return 1;
	for (int i = 1; i <= n; i++) {
		if (PingPong_imp_send_Ping(srv, i, isle_b("", 0)) || PingPong_imp_recv(srv, &m, buf, sizeof buf)) return 1;
		printf("client %llu\n", (unsigned long long)m.u.Pong.seq);
		fflush(stdout);
	}
	PingPong_imp_send_Quit(srv);
	return 0;
}
`

// TestOutputBeforeSendComesFirst: a line a SIP prints before a channel
// send comes out before what the receiver, on another core, prints on
// receiving it, as where every write reaches the host at once. Before,
// the server's line stayed held in the SIP while it computed, and the
// client's came first.
func TestOutputBeforeSendComesFirst(t *testing.T) {
	root := testprog.Root(t)
	inc := []string{"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c")}
	server := testprog.C(t, orderServerC, inc...)
	client := testprog.C(t, orderClientC, inc...)
	ctx := context.Background()
	out := newLines()
	registered := make(chan struct{}, 1)
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), out, out).WithNameWatcher(func(isle.NameEvent) {
		select {
		case registered <- struct{}{}:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	sp, err := m.Load(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := m.Load(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.SpawnWith(sp, []string{"server"}, isle.SpawnOptions{Core: isle.OnCore(0)})
	if err != nil {
		t.Fatal(err)
	}
	<-registered
	c, err := m.SpawnWith(cp, []string{"client", "3"}, isle.SpawnOptions{Core: isle.OnCore(1)})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(); st.Status() != 0 {
		t.Fatalf("client: %+v", st)
	}
	if st := s.Wait(); st.Status() != 0 {
		t.Fatalf("server: %+v", st)
	}
	want := "server 1\nclient 1\nserver 2\nclient 2\nserver 3\nclient 3\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}
