package instrument

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// A property test of the label and loop rewriting: rapid generates
// functions of random nested blocks, loops (with and without parameters),
// ifs, branches and branch tables to random enclosing labels, and calls;
// the instrumented module must validate and compute what the original
// computes, with a fuel so small that the slow path runs all the time.
//
// Every backward branch is guarded by a global step budget ($k, local 1,
// decremented before each branch), so every generated function terminates.

// genFrame is an open label of the generated function.
type genFrame struct {
	arity int // values a branch to it carries: 1 for the function and parameter loops
}

type genFunc struct {
	t      *rapid.T
	b      strings.Builder
	frames []genFrame
	size   int // statements left
}

func (g *genFunc) emit(format string, args ...any) { fmt.Fprintf(&g.b, format+" ", args...) }

// guard leaves on the stack whether the step budget allows one more branch.
func (g *genFunc) guard() {
	g.emit("local.get 1 i32.const 1 i32.sub local.tee 1 i32.const 0 i32.gt_s")
}

// mix updates the accumulator ($acc, local 2).
func (g *genFunc) mix() {
	c := rapid.IntRange(1, 1000).Draw(g.t, "c")
	g.emit("local.get 2 i32.const %d i32.add i32.const 31 i32.mul local.get 1 i32.xor local.set 2", c)
}

// target picks a label depth; the value it needs is pushed by the caller.
func (g *genFunc) target() (depth int, arity int) {
	d := rapid.IntRange(0, len(g.frames)-1).Draw(g.t, "depth")
	return d, g.frames[len(g.frames)-1-d].arity
}

func (g *genFunc) stmts() {
	n := rapid.IntRange(1, 4).Draw(g.t, "n")
	for i := 0; i < n && g.size > 0; i++ {
		g.size--
		switch rapid.IntRange(0, 8).Draw(g.t, "stmt") {
		case 0, 1:
			g.mix()
		case 2:
			g.emit("block")
			g.frames = append(g.frames, genFrame{0})
			g.stmts()
			g.frames = g.frames[:len(g.frames)-1]
			g.emit("end")
		case 3:
			g.emit("loop")
			g.frames = append(g.frames, genFrame{0})
			g.stmts()
			g.frames = g.frames[:len(g.frames)-1]
			g.emit("end")
		case 4: // a loop with a parameter and a result (type 2: i32 -> i32)
			g.emit("local.get 2 loop:t2 local.get 2 i32.add local.set 2")
			g.frames = append(g.frames, genFrame{1})
			g.stmts()
			g.frames = g.frames[:len(g.frames)-1]
			g.emit("local.get 2 end local.get 2 i32.xor local.set 2")
		case 5:
			g.emit("local.get 2 i32.const 1 i32.and if")
			g.frames = append(g.frames, genFrame{0})
			g.stmts()
			g.emit("else")
			g.stmts()
			g.frames = g.frames[:len(g.frames)-1]
			g.emit("end")
		case 6: // br_if
			d, arity := g.target()
			if arity == 1 {
				g.emit("local.get 2")
			}
			g.guard()
			g.emit("br_if %d", d)
			if arity == 1 {
				g.emit("drop")
			}
		case 7: // br or br_table, inside an if on the budget
			g.guard()
			g.emit("if")
			g.frames = append(g.frames, genFrame{0})
			d, arity := g.target()
			if rapid.Bool().Draw(g.t, "table") {
				var labels []string
				for j := rapid.IntRange(0, 3).Draw(g.t, "labels"); j > 0; j-- {
					dd := rapid.IntRange(0, len(g.frames)-1).Draw(g.t, "depth")
					if g.frames[len(g.frames)-1-dd].arity == arity {
						labels = append(labels, fmt.Sprint(dd))
					}
				}
				if arity == 1 {
					g.emit("local.get 2")
				}
				g.emit("local.get 2 i32.const 7 i32.rem_u br_table %d %s %d", len(labels), strings.Join(labels, " "), d)
			} else {
				if arity == 1 {
					g.emit("local.get 2")
				}
				g.emit("br %d", d)
			}
			g.frames = g.frames[:len(g.frames)-1]
			g.emit("end")
		case 8:
			g.emit("local.get 2 call 1 local.set 2")
		}
	}
}

func TestRewritePreservesControlFlow(t *testing.T) {
	h := newHarness(t, 0, 2)
	rapid.Check(t, func(t *rapid.T) {
		g := &genFunc{t: t, frames: []genFrame{{1}}, size: rapid.IntRange(1, 40).Draw(t, "size")}
		g.emit("i32.const 200 local.set 1 local.get 0 local.set 2")
		g.stmts()
		g.emit("local.get 2")
		tm := testModule{
			types: []string{"i32 -> i32", "i32 -> i32", "i32 -> i32"},
			funcs: []testFunc{
				{typ: 0, locals: "i32 i32", export: "run", body: g.b.String()},
				{typ: 1, body: "local.get 0 i32.const 3 i32.mul i32.const 1 i32.add"},
			},
		}
		orig := tm.bytes()
		args := [][]uint64{{0}, {1}, {12345}}
		want, _ := runKernel(t, h, orig, args)
		inst, err := Instrument(orig, testOptions(2))
		if err != nil {
			t.Fatalf("Instrument: %v\n%s", err, g.b.String())
		}
		got, _ := runKernel(t, h, inst, args)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("results differ (-original +instrumented):\n%s\n%s", diff, g.b.String())
		}
	})
}
