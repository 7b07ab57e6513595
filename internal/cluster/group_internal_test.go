package cluster

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRegisterLookup(t *testing.T) {
	c := newCluster(t, 3, 1)
	c.startAll()
	g1, g2 := c.groups[1], c.groups[2]
	ctx := ctxFor(t, 10*time.Second)
	start := time.Now()
	if err := g1.Register(ctx, "kv", Name{Node: 1, Endpoint: 7, Contract: "KV"}); err != nil {
		t.Fatalf("register: %v", err)
	}
	t.Logf("first register (election included): %v", time.Since(start))
	if err := g2.Register(ctx, "kv", Name{Node: 2, Endpoint: 9, Contract: "KV"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate register: %v, want ErrExists", err)
	}
	for id, g := range c.groups {
		v, ok, err := g.Lookup(ctx, "kv")
		if err != nil || !ok || v != (Name{Node: 1, Endpoint: 7, Contract: "KV"}) {
			t.Fatalf("node %d lookup: %v %v %v", id, v, ok, err)
		}
	}
	if _, ok, err := g2.Lookup(ctx, "nope"); err != nil || ok {
		t.Fatalf("lookup of an absent name: %v %v", ok, err)
	}
	if err := g2.Unregister(ctx, "kv"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("unregister by another node: %v", err)
	}
	if err := g1.Unregister(ctx, "kv"); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	if err := g1.Unregister(ctx, "kv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second unregister: %v", err)
	}
	start = time.Now()
	for i := range 20 {
		if err := g1.Register(ctx, fmt.Sprintf("n%d", i), Name{Node: 1}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("a sequential register: %v", time.Since(start)/20)
}
