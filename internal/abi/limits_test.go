package abi_test

import (
	"context"
	"strings"
	"testing"

	"isle"
)

// TestContractSizeAndFlags runs testdata/hostile/contract-size.c: a 59 KB
// contract source (which took seconds of the core to compile) is refused as
// too big in channel_create and lookup, a 15 KB ring of contracts still
// compiles, and undefined recv and recv_any flags are invalid.
func TestContractSizeAndFlags(t *testing.T) {
	prog := buildC(t, "testdata/hostile/contract-size.c")
	ctx := context.Background()
	var out, errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	p, err := m.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := m.Spawn(p, []string{"contract-size"})
	if err != nil {
		t.Fatal(err)
	}
	if st := sp.Wait(); st.Status() != 0 {
		t.Fatalf("%+v; stderr %s", st, errs.String())
	}
	want := `ring of 760: 59060 bytes
channel_create with it: too big
lookup with it: too big
ring of 200: 15380 bytes
channel_create with it: ok
recv with NONBLOCK|2: invalid argument
recv with NONBLOCK|1<<31: invalid argument
recv_any with NONBLOCK|2: invalid argument
recv NONBLOCK: nothing to receive
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
