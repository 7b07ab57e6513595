package instrument

import (
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// benchCase is one kernel of BenchmarkOverhead: a module, the export to
// call and its argument.
type benchCase struct {
	name   string
	wasm   []byte
	export string
	arg    uint64
}

// handBench are the hand-assembled kernels: a tight hash loop and some of
// the differential kernels, each with an argument that makes a call take a
// while. They are worst cases: loops of one to three cycles an iteration.
func handBench() []benchCase {
	hash := testModule{types: []string{"i32 -> i64"}, funcs: []testFunc{{typ: 0, locals: "i32 i64", export: "run", body: `
		i64.const 1469598103934665603 local.set 2
		loop
		  local.get 2 local.get 1 i64.extend_i32_u i64.xor i64.const 1099511628211 i64.mul local.set 2
		  local.get 1 i32.const 1 i32.add local.tee 1
		  local.get 0 i32.lt_u br_if 0
		end
		local.get 2`}}}
	cases := []benchCase{{"hash_loop", hash.bytes(), "run", 1_000_000}}
	for _, k := range []struct {
		name string
		arg  uint64
	}{{"fib_iter", 1_000_000}, {"loop_params", 1_000_000}, {"memory_simd", 60000}, {"fib_rec", 25}} {
		for _, kk := range kernels {
			if kk.name == k.name {
				cases = append(cases, benchCase{k.name, kk.mod.bytes(), "run", k.arg})
			}
		}
	}
	return cases
}

// cBench are the C kernels of testdata/kernels.c as clang -O2 builds them
// (with SIMD auto-vectorization), or none if clang cannot.
func cBench(b *testing.B) []benchCase {
	if _, err := exec.LookPath("clang"); err != nil {
		b.Log("clang is not installed: no C kernels")
		return nil
	}
	var wasm []byte
	b.Run("build_c", func(b *testing.B) { wasm = buildCKernels(b, "-msimd128") })
	if wasm == nil {
		return nil
	}
	var cases []benchCase
	for _, k := range cKernels {
		cases = append(cases, benchCase{"c_" + k.name, wasm, k.name, k.bench})
	}
	return cases
}

// BenchmarkOverhead runs each kernel as built ("original"), instrumented
// with the default loop form ("instrumented") and with the hook call in the
// loop body ("call_in_loop", loopCallInBody), with the default fuel and a
// hook that only refills. The instrumented rows report x-orig: their ns/op
// over the original's.
//
// On a shared, loaded machine the means wander by tens of percent from one
// row to the next, so each kernel also has an "interleaved" row: every
// iteration runs the original and the instrumented module once each, and
// the row reports the fastest run of each (min-orig-ns, min-instr-ns) and
// their ratio (min-x-orig), which load barely disturbs. The rows geomean_*
// give the geometric mean of min-x-orig over the hand-written and the C
// kernels.
func BenchmarkOverhead(b *testing.B) {
	groups := []struct {
		name  string
		cases []benchCase
	}{{"hand", handBench()}, {"c", cBench(b)}}
	for _, g := range groups {
		var logSum float64
		var n int
		for _, k := range g.cases {
			ratio, ok := benchKernel(b, k)
			if ok {
				logSum += math.Log(ratio)
				n++
			}
		}
		if n > 0 {
			b.Run("geomean_"+g.name, func(b *testing.B) {
				b.ReportMetric(math.Exp(logSum/float64(n)), "min-x-orig")
			})
		}
	}
}

// benchKernel runs the rows of one kernel and returns its min-x-orig, with
// ok false when the interleaved row ran too few iterations to count.
func benchKernel(b *testing.B, k benchCase) (ratio float64, ok bool) {
	inst := mustInstrument(b, k.wasm, DefaultOptions())
	o := DefaultOptions()
	o.loopCallInBody = true
	inBody := mustInstrument(b, k.wasm, o)
	var origNs float64
	for _, v := range []struct {
		name string
		wasm []byte
	}{{"original", k.wasm}, {"instrumented", inst}, {"call_in_loop", inBody}} {
		b.Run(k.name+"/"+v.name, func(b *testing.B) {
			h := newHarness(b, 0, DefaultFuel)
			run := h.instantiate(b, v.wasm).ExportedFunction(k.export)
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
	b.Run(k.name+"/interleaved", func(b *testing.B) {
		h := newHarness(b, 0, DefaultFuel)
		fns := []api.Function{
			h.instantiate(b, k.wasm).ExportedFunction(k.export),
			h.instantiate(b, inst).ExportedFunction(k.export),
		}
		best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
		for i := 0; i < b.N; i++ {
			for j, f := range fns {
				start := time.Now()
				if _, err := f.Call(h.ctx, k.arg); err != nil {
					b.Fatal(err)
				}
				best[j] = min(best[j], time.Since(start))
			}
		}
		ratio = float64(best[1]) / float64(best[0])
		ok = b.N >= 10
		b.ReportMetric(float64(best[0].Nanoseconds()), "min-orig-ns")
		b.ReportMetric(float64(best[1].Nanoseconds()), "min-instr-ns")
		b.ReportMetric(ratio, "min-x-orig")
	})
	return ratio, ok
}
