package wasi_test

import (
	"bytes"
	"context"
	"math/rand"
	"testing"
	"time"

	"isle"
	"isle/internal/hostile"
	"isle/internal/wasi"
	"isle/internal/wasmbin"
)

// callsModule assembles a program whose _start makes the calls script
// describes (wasmbin.ScriptCalls, 8 bytes a parameter), ignoring their
// results. Its one page of memory starts with mem.
func callsModule(script, mem []byte) []byte {
	table := wasi.Table()
	funcs := make([]wasmbin.Import, len(table))
	for i, sc := range table {
		funcs[i] = wasmbin.Import{Name: sc.Name, Params: []byte(sc.Params), Result: !sc.NoErrno}
	}
	return wasmbin.CallsModule(wasi.ModuleName, funcs, wasmbin.ScriptCalls(script, funcs, 8, nil), mem)
}

// runCalls runs one generated program on m: every call must come back to
// the guest. A poll_oneoff with a long timeout sleeps, which is allowed: the
// SIP may outlive the limit, and the machine must still stop it (the
// caller's Stop).
func runCalls(t *testing.T, m *isle.Machine, script, mem []byte) {
	t.Helper()
	if len(mem) > 65536 {
		mem = mem[:65536]
	}
	t.Logf("script %x", script)
	hostile.RunCalls(t, m, callsModule(script, mem), []string{"calls.wasm", "arg"}, 5*time.Second, true)
}

func boot(t testing.TB) *isle.Machine {
	m, err := isle.Boot(context.Background(), isle.NewConfig().WithCores(2).WithOversubscribe(true).
		WithCacheDir("").WithStdio(bytes.NewReader([]byte("input")), &bytes.Buffer{}, &bytes.Buffer{}).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRandomCalls drives every WASI function with random arguments, pointers
// and lengths among them, from a fixed seed.
func TestRandomCalls(t *testing.T) {
	m := boot(t)
	defer m.Stop(context.Background())
	rng := rand.New(rand.NewSource(1))
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		script := make([]byte, 1+rng.Intn(400))
		mem := make([]byte, rng.Intn(512))
		for j := range script {
			// Mostly small values, so pointers land in memory and lengths are plausible.
			if rng.Intn(3) > 0 {
				script[j] = byte(rng.Intn(8))
			} else {
				script[j] = byte(rng.Intn(256))
			}
		}
		rng.Read(mem)
		runCalls(t, m, script, mem)
	}
}

func FuzzCalls(f *testing.F) {
	f.Add([]byte{26, 1, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 32}, []byte("\x00\x01\x00\x00\x05\x00\x00\x00hello"))
	f.Add([]byte{0, 255, 255, 255, 255, 0, 0, 0, 0}, []byte{})
	m := boot(f)
	f.Cleanup(func() { m.Stop(context.Background()) })
	f.Fuzz(func(t *testing.T, script, mem []byte) {
		if len(script) > 4096 {
			return
		}
		runCalls(t, m, script, mem)
	})
}
