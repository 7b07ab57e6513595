package isle_test

import (
	"context"
	"fmt"
	"os"

	"isle"
)

// Boot a machine, load a program, run it as a SIP, wait for it and stop.
func Example() {
	ctx := context.Background()
	cfg := isle.NewConfig().WithEnv("GREETING=hi").WithStdio(nil, os.Stdout, os.Stderr).WithCacheDir("")
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, "examples/hello-c/hello-c.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prog.Close(ctx)
	p, err := m.Spawn(prog, []string{"hello-c", "--exit", "3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	st := p.Wait()
	fmt.Println("exit status", st.Status())
	// Output:
	// hello from C
	// argv[0] = hello-c
	// argv[1] = --exit
	// argv[2] = 3
	// GREETING = hi
	// exit status 3
}

// An embedder names the kernel tables and their kinds with the root
// package's own constants.
func ExampleParseTables() {
	tc, err := isle.ParseTables("names=shared")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tc[isle.TableNames], tc[isle.TableNames] == isle.TableShared)
	cfg := isle.NewConfig().WithTables(isle.TablesConfig{isle.TableProcs: isle.TableReplicated})
	_ = cfg
	// Output: shared true
}
