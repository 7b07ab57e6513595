package isle

import (
	"context"
	"io"
	"slices"
	"testing"
)

// TestTraceNamesEveryServiceOp: every service of a machine names its
// operations (kernel.OpNamer), so that a trace draws a request to it as
// "net0 recv" or "loader load", not "net0 op 201".
func TestTraceNamesEveryServiceOp(t *testing.T) {
	ctx := context.Background()
	m, err := Boot(ctx, NewConfig().WithCores(1).WithListen("127.0.0.1:0").WithTrace(io.Discard, 64))
	if err != nil {
		t.Fatal(err)
	}
	m.Stop(ctx)
	d, ok := m.k.Trace()
	if !ok {
		t.Fatal("the machine kept no trace")
	}
	var names []string
	for _, sv := range d.Services {
		names = append(names, sv.Name)
		named := 0
		for _, op := range sv.Ops {
			if op != "" {
				named++
			}
		}
		if named == 0 {
			t.Errorf("service %s names none of its operations", sv.Name)
		}
	}
	for _, want := range []string{"console", "stdin", "loader", "fs0", "net0"} {
		if !slices.Contains(names, want) {
			t.Errorf("no service %s among %v", want, names)
		}
	}
}
