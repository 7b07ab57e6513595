package abi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand"
	"testing"
	"time"

	"isle"
	"isle/internal/abi"
	"isle/internal/hostile"
	"isle/internal/wasmbin"
)

// fuzzSrc sits at address 0 of the generated programs' memory, so that
// channel_create(0, len, …) and friends sometimes name a real contract.
const fuzzSrc = "contract B { msg P(e exp<B>, n u32) initial final state S { imp P -> S } }"

// callsModule assembles a program whose _start calls functions of module
// "isle" as script says (wasmbin.ScriptCalls, 4 bytes a parameter). recv
// and recv_any always get the non-blocking flag, so that the program ends.
// Its one page of memory starts with the contract source, then mem.
func callsModule(script, mem []byte) []byte {
	table := abi.Table()
	funcs := make([]wasmbin.Import, len(table))
	for i, f := range table {
		funcs[i] = wasmbin.Import{Name: f.Name, Params: []byte(f.Params), Result: true}
	}
	calls := wasmbin.ScriptCalls(script, funcs, 4, func(fn, j int, v uint64) uint64 {
		if f := table[fn]; j == len(f.Params)-1 && (f.Name == "recv" || f.Name == "recv_any") {
			v |= abi.RecvNonblock
		}
		return v
	})
	return wasmbin.CallsModule(abi.ModuleName, funcs, calls, append([]byte(fuzzSrc+"B"), mem...))
}

// runCalls runs one generated program: every call must come back to the
// guest and the SIP end.
func runCalls(t *testing.T, m *isle.Machine, script, mem []byte) {
	t.Helper()
	if len(mem) > 60000 {
		mem = mem[:60000]
	}
	t.Logf("script %x", script)
	hostile.RunCalls(t, m, callsModule(script, mem), []string{"calls.wasm"}, 10*time.Second, false)
}

func boot(t testing.TB) *isle.Machine {
	m, err := isle.Boot(context.Background(), isle.NewConfig().WithCores(2).WithOversubscribe(true).
		WithCacheDir("").WithStdio(bytes.NewReader(nil), &bytes.Buffer{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRandomCalls drives every function of module "isle" with random
// arguments — pointers, lengths and handles among them — from a fixed seed.
func TestRandomCalls(t *testing.T) {
	m := boot(t)
	defer m.Stop(context.Background())
	rng := rand.New(rand.NewSource(1))
	n := 200
	if testing.Short() {
		n = 40
	}
	interesting := []uint32{0, 1, 2, 3, 4, 8, 16, uint32(len(fuzzSrc)), uint32(len(fuzzSrc)), 64, 100, 1 << 20, 0xFFFFFFFF, 0xFFFFFFF0, 65535, 65536}
	for i := 0; i < n; i++ {
		var script []byte
		for range 1 + rng.Intn(60) {
			if rng.Intn(4) == 0 { // a channel that compiles, so that later calls find handles
				script = append(script, 0)
				for _, v := range []uint32{0, uint32(len(fuzzSrc)), uint32(len(fuzzSrc)), 1, 200, 204, 0} {
					script = binary.LittleEndian.AppendUint32(script, v)
				}
				continue
			}
			script = append(script, byte(rng.Intn(256)))
			for range 7 {
				v := interesting[rng.Intn(len(interesting))]
				if rng.Intn(4) == 0 {
					v = rng.Uint32()
				}
				script = binary.LittleEndian.AppendUint32(script, v)
			}
		}
		mem := make([]byte, rng.Intn(512))
		rng.Read(mem)
		runCalls(t, m, script, mem)
	}
}

func FuzzCalls(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 75, 0, 0, 0, 75, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0}, []byte{})
	f.Add([]byte{5, 16, 0, 0, 0, 8, 0, 0, 0}, []byte{1, 2, 3})
	m := boot(f)
	f.Cleanup(func() { m.Stop(context.Background()) })
	f.Fuzz(func(t *testing.T, script, mem []byte) {
		if len(script) > 4096 {
			return
		}
		runCalls(t, m, script, mem)
	})
}
