package isle_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// Two SIPs talk over a channel: the server registers a name, the client
// looks it up, which connects them, and they exchange a Ping and a Pong
// (contract PingPong, examples/contracts/pingpong.contract). The machine
// tells the embedder of the registration, so the client starts once the
// name is there. Both programs are C, in testdata/example/.
//
// The SIPs' lines come in the order of the exchange on any number of
// cores: a SIP's held console output is sent before each channel send
// (docs/wasi.md, "Console output").
func Example_channel() {
	ctx := context.Background()
	registered := make(chan isle.NameEvent, 1)
	cfg := isle.NewConfig().WithCores(2).WithOversubscribe(true).WithStdio(nil, os.Stdout, os.Stderr).WithCacheDir("").
		WithNameWatcher(func(e isle.NameEvent) {
			select { // the watcher runs on a kernel loop: it must not block
			case registered <- e:
			default:
			}
		})
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Stop(ctx)
	server, err := m.Load(ctx, "testdata/example/greet-server.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := m.Load(ctx, "testdata/example/greet-client.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := m.Spawn(server, []string{"greet-server"})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := <-registered
	fmt.Printf("registered %q, contract %s\n", e.Name, e.Contract)
	c, err := m.Spawn(client, []string{"greet-client", "hello, server"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client exit status", c.Wait().Status())
	fmt.Println("server exit status", s.Wait().Status())
	// Output:
	// registered "greeter", contract PingPong
	// server: Ping 1: hello, server
	// client: Pong 1: hello, client
	// client exit status 0
	// server exit status 0
}

// TestExampleWasmIsCurrent proves the programs of Example_channel, committed
// in testdata/example/, are built from their C sources with the command
// each source's comment gives.
func TestExampleWasmIsCurrent(t *testing.T) {
	root := testprog.Root(t)
	for _, name := range []string{"greet-server", "greet-client"} {
		out := filepath.Join(t.TempDir(), name+".wasm")
		testprog.CFile(t, filepath.Join(root, "testdata", "example", name+".c"), out,
			"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c"))
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join(root, "testdata", "example", name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("testdata/example/%s.wasm is stale: rebuild it as testdata/example/%s.c says", name, name)
		}
	}
}
