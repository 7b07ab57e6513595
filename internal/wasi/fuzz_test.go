package wasi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand"
	"testing"
	"time"

	"isle"
	"isle/internal/sandbox"
	"isle/internal/wasi"
)

// callsModule assembles a program whose _start makes the calls script
// describes, with arguments taken from it, ignoring their results. Its one
// page of memory starts with mem. Script: per call, one byte (the table row,
// modulo its length) then 8 bytes for each parameter.
func callsModule(script, mem []byte) []byte {
	table := wasi.Table()
	var types, imports, body []byte
	for i, sc := range table {
		types = append(types, 0x60)
		types = uleb(types, len(sc.Params))
		for _, p := range sc.Params {
			types = append(types, byte(p))
		}
		if sc.NoErrno {
			types = append(types, 0)
		} else {
			types = append(types, 1, byte(sandbox.I32))
		}
		imports = name(name(imports, wasi.ModuleName), sc.Name)
		imports = append(imports, 0)
		imports = uleb(imports, i)
	}
	for len(script) > 0 {
		idx := int(script[0]) % len(table)
		script = script[1:]
		sc := table[idx]
		for _, p := range sc.Params {
			var v uint64
			if len(script) >= 8 {
				v = binary.LittleEndian.Uint64(script)
				script = script[8:]
			} else {
				script = nil
			}
			if p == sandbox.I32 {
				body = append(body, 0x41) // i32.const
				body = sleb(body, int64(int32(v)))
			} else {
				body = append(body, 0x42) // i64.const
				body = sleb(body, int64(v))
			}
		}
		body = append(body, 0x10) // call
		body = uleb(body, idx)
		if !sc.NoErrno {
			body = append(body, 0x1A) // drop
		}
	}
	n := len(table)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 1, append(append(uleb(nil, n+1), types...), 0x60, 0, 0))
	m = section(m, 2, append(uleb(nil, n), imports...))
	m = section(m, 3, append(uleb(nil, 1), uleb(nil, n)...))
	m = section(m, 5, []byte{1, 0, 1})
	m = section(m, 7, append(append(name([]byte{2}, "_start"), 0), append(uleb(nil, n), append(name(nil, "memory"), 2, 0)...)...))
	fn := append(append([]byte{0}, body...), 0x0B)
	m = section(m, 10, append(uleb(uleb(nil, 1), len(fn)), fn...))
	data := append([]byte{1, 0, 0x41, 0, 0x0B}, uleb(nil, len(mem))...)
	return section(m, 11, append(data, mem...))
}

func section(b []byte, id byte, c []byte) []byte {
	return append(append(append(b, id), uleb(nil, len(c))...), c...)
}
func name(b []byte, s string) []byte { return append(uleb(b, len(s)), s...) }
func uleb(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
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
