// Package pingpong_test runs examples/pingpong: a C server and C clients
// (c/server.c, c/client.c) over the PingPong contract of
// examples/contracts/pingpong.contract, with stubs made by isle contract gen.
package pingpong_test

//go:generate go run ../../cmd/isle contract gen --lang c --pkg pingpong -o c/pingpong.h ../contracts/pingpong.contract
//go:generate go run ../../cmd/isle contract gen --lang go --pkg pingpongproto -o pingpongproto/pingpong.go ../contracts/pingpong.contract

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"isle"
	"isle/internal/abi/gen"
	"isle/internal/contract"
	"isle/internal/testprog"
)

// build compiles one of this directory's C programs.
func build(t *testing.T, name string) string {
	t.Helper()
	root := testprog.Root(t)
	out := filepath.Join(t.TempDir(), name+".wasm")
	testprog.CFile(t, filepath.Join(root, "examples", "pingpong", "c", name+".c"), out,
		"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c"))
	return out
}

// TestPingPong runs the server on core 0 and a client on core 0 (same core)
// or core 1 (across cores), with small and block-sized payloads, in C and in
// Go, and each language's client against the other's server.
func TestPingPong(t *testing.T) {
	progs := map[string]string{
		"C server": build(t, "server"), "C client": build(t, "client"),
		"Go server": testprog.Go(t, "./examples/pingpong/server"), "Go client": testprog.Go(t, "./examples/pingpong/client"),
	}
	for _, tc := range []struct {
		lang              [2]string // server's, client's
		cores, clientCore int
		size              string
	}{
		{[2]string{"C", "C"}, 1, 0, "0"}, {[2]string{"C", "C"}, 2, 0, "100"}, {[2]string{"C", "C"}, 2, 1, "0"}, {[2]string{"C", "C"}, 2, 1, "5000"},
		{[2]string{"Go", "Go"}, 2, 1, "0"}, {[2]string{"Go", "Go"}, 2, 1, "5000"},
		{[2]string{"Go", "C"}, 2, 1, "40"}, {[2]string{"C", "Go"}, 1, 0, "100"},
	} {
		server, client := progs[tc.lang[0]+" server"], progs[tc.lang[1]+" client"]
		// Both on core 0 of two: the balancer may move one while they talk.
		t.Run(fmt.Sprintf("%s-server/%s-client/cores=%d/client-on-%d/%sB", tc.lang[0], tc.lang[1], tc.cores, tc.clientCore, tc.size), func(t *testing.T) {
			var out, errs bytes.Buffer
			cache := t.TempDir()
			ctx := context.Background()
			m, err := isle.Boot(ctx, isle.NewConfig().WithCores(tc.cores).WithOversubscribe(true).WithCacheDir(cache).WithStdio(strings.NewReader(""), &out, &errs))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Stop(ctx)
			sp, _ := m.Load(ctx, server)
			cp, _ := m.Load(ctx, client)
			s, err := m.SpawnOn(sp, []string{"server", "1"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			c, err := m.SpawnOn(cp, []string{"client", "200", tc.size}, tc.clientCore)
			if err != nil {
				t.Fatal(err)
			}
			if st := c.Wait(); st.Status() != 0 {
				t.Fatalf("client: %+v; stderr %s", st, errs.String())
			}
			if st := s.Wait(); st.Status() != 0 {
				t.Fatalf("server: %+v; stderr %s", st, errs.String())
			}
			o := out.String()
			t.Log(strings.TrimSpace(o))
			if !strings.Contains(o, "client: 200 rounds of "+tc.size+" bytes") || !strings.Contains(o, "server: 200 pings from 1 clients") {
				t.Errorf("output:\n%s\nstderr:\n%s", o, errs.String())
			}
		})
	}
}

// TestStubsUpToDate checks that c/pingpong.h and pingpongproto/pingpong.go
// are what `isle contract gen` makes of examples/contracts/pingpong.contract.
func TestStubsUpToDate(t *testing.T) {
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "examples", "contracts", "pingpong.contract"))
	if err != nil {
		t.Fatal(err)
	}
	set, diags := contract.CompileSource("pingpong.contract", src)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	have, err := os.ReadFile(filepath.Join(root, "examples", "pingpong", "c", "pingpong.h"))
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != gen.C(set, "pingpong", "pingpong.contract") {
		t.Error("c/pingpong.h is stale: run go generate ./examples/pingpong")
	}
	have, err = os.ReadFile(filepath.Join(root, "examples", "pingpong", "pingpongproto", "pingpong.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != gen.Go(set, "pingpongproto", "pingpong.contract") {
		t.Error("pingpongproto/pingpong.go is stale: run go generate ./examples/pingpong")
	}
}
