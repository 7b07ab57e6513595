package isle_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// TestClusterRemoteNamesChange: a node's remote names can change while its
// machine runs (ClusterConfig.Names, as isle node feeds it from the Raft
// table): a name set is reachable through the gateway; once the set drops
// it, the gateway unregisters it, so a local SIP may register the name.
func TestClusterRemoteNamesChange(t *testing.T) {
	server, client := pingpongC(t, "server"), pingpongC(t, "client")
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	reg := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	names := &isle.RemoteNames{}
	names.Set([]isle.RemoteName{pingpongRemote(t)})
	var outA, errA, outB, errB bytes.Buffer
	a, registered := bootServerNode(t, isle.ClusterConfig{Link: one, Logf: log.logf}, &outA, &errA)
	b := bootNode(t, isle.ClusterConfig{Link: two, Names: names, Logf: log.logf}, &outB, &errB)
	ctx := context.Background()
	sp, _ := a.Load(ctx, server)
	cp, _ := b.Load(ctx, client)
	rp, err := b.Load(ctx, reg)
	if err != nil || sp == nil || cp == nil {
		t.Fatalf("load: %v", err)
	}
	if _, err := a.Spawn(sp, []string{"server", "1"}); err != nil {
		t.Fatal(err)
	}
	registered("pingpong") // a client before it finds no such name (bootServerNode)
	c, err := b.Spawn(cp, []string{"client", "10"})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(); st.Status() != 0 {
		t.Fatalf("client: %+v; stderr %s; log:\n%s", st, errB.String(), log)
	}
	names.Set(nil)
	// The set reaches the gateway's SIP asynchronously: a local register
	// fails with EEXIST until then, and must succeed after.
	for try := 0; ; try++ {
		p, err := b.Spawn(rp, []string{"register", "pingpong"})
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Wait(); st.Status() == 0 {
			break
		}
		if try == 1000 {
			t.Fatalf("the gateway still holds the dropped name; stderr %s; log:\n%s", errB.String(), log)
		}
	}
}
