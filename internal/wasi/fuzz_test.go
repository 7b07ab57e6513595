package wasi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand"
	"testing"
	"time"

	"isle"
	"isle/internal/wasi"
	"isle/internal/wasmbin"
)

// callsModule assembles a program whose _start makes the calls script
// describes, with arguments taken from it, ignoring their results. Its one
// page of memory starts with mem. Script: per call, one byte (the table row,
// modulo its length) then 8 bytes for each parameter.
func callsModule(script, mem []byte) []byte {
	table := wasi.Table()
	funcs := make([]wasmbin.Import, len(table))
	for i, sc := range table {
		funcs[i] = wasmbin.Import{Name: sc.Name, Params: []byte(sc.Params), Result: !sc.NoErrno}
	}
	var calls []wasmbin.Call
	for len(script) > 0 {
		c := wasmbin.Call{Func: int(script[0]) % len(table)}
		script = script[1:]
		for range table[c.Func].Params {
			var v uint64
			if len(script) >= 8 {
				v = binary.LittleEndian.Uint64(script)
				script = script[8:]
			} else {
				script = nil
			}
			c.Args = append(c.Args, v)
		}
		calls = append(calls, c)
	}
	return wasmbin.CallsModule(wasi.ModuleName, funcs, calls, mem)
}

// runCalls runs one generated program on m and checks that every call came
// back to the guest: no trap (a Go panic in a handler would show as one),
// and the SIP ends.
func runCalls(t *testing.T, m *isle.Machine, script, mem []byte) {
	t.Helper()
	ctx := context.Background()
	if len(mem) > 65536 {
		mem = mem[:65536]
	}
	prog, err := m.LoadBytes(ctx, "calls.wasm", callsModule(script, mem))
	if err != nil {
		t.Fatalf("generated module does not load: %v", err)
	}
	p, err := m.Spawn(prog, []string{"calls.wasm", "arg"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	select {
	case st := <-done:
		if st.Trap != "" || st.Killed {
			t.Fatalf("script %x: %+v", script, st)
		}
	case <-time.After(5 * time.Second):
		// A poll_oneoff with a long timeout sleeps: that is allowed; the
		// machine must still be able to stop it (checked by the caller's Stop).
	}
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
