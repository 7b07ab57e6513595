// Package kv_test runs examples/kv: the Go server (server/), a Go client
// (client/) and a C client (c/client.c) over the KV and KVWatch contracts of
// examples/contracts/kv.contract, with stubs made by isle contract gen.
package kv_test

//go:generate go run ../../cmd/isle contract gen --lang go --pkg kvproto -o kvproto/kv.go ../contracts/kv.contract
//go:generate go run ../../cmd/isle contract gen --lang c --pkg kv -o c/kv.h ../contracts/kv.contract

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"isle"
	"isle/internal/abi/gen"
	"isle/internal/contract"
	"isle/internal/testprog"
)

const goClientOut = `put: Done(true)
get: Value(found=true, "red")
watch: Done(true)
close the sent end: isle: bad handle
put: Done(true)
watch saw: Changed(go:color="blue", v2)
delete: Done(true)
watch saw: Deleted(go:color, v3)
get: Value(found=false, "")
client sends Value: isle: message not allowed in this state
Get with a bad payload: isle: payload does not match the message's fields
Get on a forged handle: isle: bad handle
get: Value(found=false, "")
bye
`

const cClientOut = `put: Done(1)
get: Value(found=1, "large")
delete: Done(1)
get: Value(found=0, "")
second get before the answer: message not allowed in this state
bye
`

// console collects the machine's output; the service writes from its own
// goroutine while the test reads between programs.
type console struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// buildKV builds the server, the Go client and the C client.
func buildKV(t *testing.T) (server, goClient, cClient string) {
	t.Helper()
	root := testprog.Root(t)
	server = testprog.Go(t, "./examples/kv/server")
	goClient = testprog.Go(t, "./examples/kv/client")
	cClient = filepath.Join(t.TempDir(), "client.wasm")
	testprog.CFile(t, filepath.Join(root, "examples", "kv", "c", "client.c"), cClient,
		"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "kv", "c"))
	return server, goClient, cClient
}

func TestKV(t *testing.T) {
	server, goClient, cClient := buildKV(t)
	cache := t.TempDir()
	for _, tc := range []struct {
		cores int
		names string // how the name table is kept
	}{{1, "shared"}, {3, "shared"}, {3, "replicated"}} {
		cores := tc.cores
		t.Run(fmt.Sprintf("cores=%d,names=%s", cores, tc.names), func(t *testing.T) {
			ctx := context.Background()
			var out, errs console
			tcfg, err := isle.ParseTables("names=" + tc.names)
			if err != nil {
				t.Fatal(err)
			}
			m, err := isle.Boot(ctx, isle.NewConfig().WithCores(cores).WithOversubscribe(true).WithCacheDir(cache).WithTables(tcfg).WithStdio(strings.NewReader(""), &out, &errs))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Stop(ctx)
			load := func(path string) *isle.Program {
				p, err := m.Load(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			sp, gp, cp := load(server), load(goClient), load(cClient)
			s, err := m.SpawnOn(sp, []string{"server", "2"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The clients run one after the other, each on another core than
			// the server when there is one, so their outputs stay apart.
			g, _ := m.SpawnOn(gp, []string{"client"}, 1%cores)
			if st := g.Wait(); st.Status() != 0 {
				t.Fatalf("Go client: %+v; stderr %s", st, errs.buf.String())
			}
			goOut := out.buf.String()
			out.buf.Reset()
			c, _ := m.SpawnOn(cp, []string{"client"}, 2%cores)
			if st := c.Wait(); st.Status() != 0 {
				t.Fatalf("C client: %+v; stderr %s", st, errs.buf.String())
			}
			if st := s.Wait(); st.Status() != 0 {
				t.Fatalf("server: %+v; stderr %s", st, errs.buf.String())
			}
			if goOut != goClientOut {
				t.Errorf("Go client printed:\n%s\nwant:\n%s", goOut, goClientOut)
			}
			// The server's last line races with the C client's last ones on the
			// shared console: it must appear once, anywhere.
			got := out.buf.String()
			const served = "kv server: served 2 clients\n"
			if strings.Count(got, served) != 1 || strings.Replace(got, served, "", 1) != cClientOut {
				t.Errorf("C client and server printed:\n%s\nwant:\n%s(and the server's %q)", got, cClientOut, served)
			}
		})
	}
}

// TestKVConcurrentClients runs both clients at once, each on its own core,
// against the server on core 0, which serves them with one wait set. Their
// lines interleave, so the output is compared as a sorted list of lines.
func TestKVConcurrentClients(t *testing.T) {
	server, goClient, cClient := buildKV(t)
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(3).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	var ps []*isle.Process
	for i, path := range []string{server, goClient, cClient} {
		prog, err := m.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.SpawnOn(prog, []string{"p", "2"}, i)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("program %d: %+v; stderr %s", i, st, errs.buf.String())
		}
	}
	got := strings.Split(strings.TrimSpace(out.buf.String()), "\n")
	want := strings.Split(strings.TrimSpace(goClientOut+cClientOut+"kv server: served 2 clients\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("printed (sorted):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStubsUpToDate checks the committed stubs against isle contract gen.
func TestStubsUpToDate(t *testing.T) {
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "examples", "contracts", "kv.contract"))
	if err != nil {
		t.Fatal(err)
	}
	set, diags := contract.CompileSource("kv.contract", src)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	for file, want := range map[string]string{
		"kvproto/kv.go": gen.Go(set, "kvproto", "kv.contract"),
		"c/kv.h":        gen.C(set, "kv", "kv.contract"),
	} {
		have, err := os.ReadFile(filepath.Join(root, "examples", "kv", file))
		if err != nil {
			t.Fatal(err)
		}
		if string(have) != want {
			t.Errorf("%s is stale: run go generate ./examples/kv", file)
		}
	}
}
