package tables_test

import (
	"bytes"
	"context"
	"testing"

	"isle"
)

// Through the embedding API: SIPs spawned on every core are listed by
// Machine.Processes with their exits, whichever kind the process table is.
func TestMachineProcesses(t *testing.T) {
	for _, kind := range []string{"replicated", "shared"} {
		t.Run(kind, func(t *testing.T) {
			tc, err := isle.ParseTables("procs=" + kind + ",names=" + kind)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ctx := context.Background()
			m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithStdio(nil, &out, &out).WithCacheDir("").WithTables(tc))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Stop(ctx)
			prog, err := m.Load(ctx, "../../examples/hello-c/hello-c.wasm")
			if err != nil {
				t.Fatal(err)
			}
			var ps []*isle.Process
			for i := range 3 {
				p, err := m.SpawnOn(prog, []string{"hello-c"}, i%2)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			for _, p := range ps {
				if st := p.Wait(); st.Status() != 0 {
					t.Fatalf("pid %d ended %+v", p.PID(), st)
				}
			}
			procs, err := m.Processes()
			if err != nil {
				t.Fatal(err)
			}
			if len(procs) != 3 {
				t.Fatalf("Processes = %+v, want 3 rows", procs)
			}
			for i, p := range procs {
				if p.PID != ps[i].PID() || p.State != isle.ProcExited || p.Status != 0 || p.Name == "" {
					t.Errorf("row %d = %+v", i, p)
				}
			}
		})
	}
}
