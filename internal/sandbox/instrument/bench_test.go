package instrument

import (
	"testing"
)

// benchKernels are the loops BenchmarkOverhead runs: a tight hash loop and
// some of the differential kernels, each with an argument that makes a call
// take a while.
var benchKernels = []struct {
	name string
	mod  testModule
	arg  uint64
}{
	{"hash_loop", testModule{types: []string{"i32 -> i64"}, funcs: []testFunc{{typ: 0, locals: "i32 i64", export: "run", body: `
		i64.const 1469598103934665603 local.set 2
		loop
		  local.get 2 local.get 1 i64.extend_i32_u i64.xor i64.const 1099511628211 i64.mul local.set 2
		  local.get 1 i32.const 1 i32.add local.tee 1
		  local.get 0 i32.lt_u br_if 0
		end
		local.get 2`}}}, 1_000_000},
	{"fib_iter", kernelModule("fib_iter"), 1_000_000},
	{"nested_br_table", kernelModule("nested_br_table"), 1000},
	{"loop_params", kernelModule("loop_params"), 1_000_000},
	{"memory_simd", kernelModule("memory_simd"), 60000},
	{"fib_rec", kernelModule("fib_rec"), 25},
}

func kernelModule(name string) testModule {
	for _, k := range kernels {
		if k.name == name {
			return k.mod
		}
	}
	panic("no kernel " + name)
}

// BenchmarkOverhead runs each kernel as built, instrumented (the default
// loop form) and instrumented with the hook call in the loop body
// (loopCallInBody), with the default fuel and a hook that only refills.
// The instrumented rows report x-orig: their ns/op over the original's.
func BenchmarkOverhead(b *testing.B) {
	for _, k := range benchKernels {
		orig := k.mod.bytes()
		var origNs float64
		variants := []struct {
			name string
			wasm func() []byte
		}{
			{"original", func() []byte { return orig }},
			{"instrumented", func() []byte { return mustInstrument(b, orig, DefaultOptions()) }},
			{"call_in_loop", func() []byte {
				o := DefaultOptions()
				o.loopCallInBody = true
				return mustInstrument(b, orig, o)
			}},
		}
		for _, v := range variants {
			b.Run(k.name+"/"+v.name, func(b *testing.B) {
				h := newHarness(b, 0, DefaultFuel)
				mod := h.instantiate(b, v.wasm())
				run := mod.ExportedFunction("run")
				if _, err := run.Call(h.ctx, k.arg); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := run.Call(h.ctx, k.arg); err != nil {
						b.Fatal(err)
					}
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if v.name == "original" {
					origNs = ns
				} else if origNs > 0 {
					b.ReportMetric(ns/origNs, "x-orig")
				}
			})
		}
	}
}
