package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// TestTrapPrintsGuestStack: after a trap, isle prints the trap line and then
// the guest's stack, innermost frame first, with the names of the program's
// functions (from the module's name section), for C and for Go programs, on
// one core and on several.
func TestTrapPrintsGuestStack(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "trapstack.c"))
	if err != nil {
		t.Fatal(err)
	}
	progs := []struct {
		lang, path, reason string
		frames             []string // the innermost frames, in order
	}{
		{"c", testprog.CWithNames(t, string(src)), "unreachable", []string{"inner(i32)", "outer(i32)", "main(i32,i32) i32"}},
		{"go", testprog.Go(t, "./testdata/gotrap"), "out of bounds memory access", []string{"main.inner(i32) i32", "main.outer(i32) i32", "main.main(i32) i32"}},
	}
	for _, p := range progs {
		for _, cores := range []string{"1", "2"} {
			t.Run(p.lang+"/cores"+cores, func(t *testing.T) {
				st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, "--cores", cores, "--oversubscribe", p.path)
				if st != 134 {
					t.Errorf("exit status %d, want 134", st)
				}
				if out != "about to trap\n" {
					t.Errorf("stdout %q", out)
				}
				lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
				want := append([]string{"isle: " + p.path + ": trap: " + p.reason, "wasm stack trace:"}, tabbed(p.frames)...)
				if len(lines) < len(want) {
					t.Fatalf("stderr:\n%s\nwant it to start with:\n%s", errs, strings.Join(want, "\n"))
				}
				for i, w := range want {
					if lines[i] != w {
						t.Errorf("stderr line %d: %q, want %q\n%s", i, lines[i], w, errs)
					}
				}
				for _, l := range lines[2:] {
					if !strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "\t.") {
						t.Errorf("stack line %q: want a tab and a function name", l)
					}
				}
			})
		}
	}
}

func tabbed(frames []string) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = "\t" + f
	}
	return out
}

// TestRustPanicPrintsGuestStack: a Rust program that panics prints its
// message, then traps; isle prints the trap and the stack with Rust's paths
// (legacy-mangled names demangled, as Rust's own backtraces show them).
func TestRustPanicPrintsGuestStack(t *testing.T) {
	prog := rustProg(t, "panicstack.rs")
	st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, prog)
	if st != 134 || out != "" {
		t.Errorf("exit status %d, stdout %q; want 134 and nothing", st, out)
	}
	head := "thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 6'"
	trap := "\nisle: " + prog + ": trap: unreachable\nwasm stack trace:\n"
	if !strings.HasPrefix(errs, head) || !strings.Contains(errs, trap) {
		t.Fatalf("stderr:\n%s\nwant the panic message, then %q", errs, trap)
	}
	_, stack, _ := strings.Cut(errs, trap)
	var inner, main int
	for i, l := range strings.Split(stack, "\n") {
		switch {
		case strings.HasPrefix(l, "\tpanicstack::inner("):
			inner = i + 1
		case strings.HasPrefix(l, "\tpanicstack::main("):
			main = i + 1
		}
	}
	if inner == 0 || main <= inner {
		t.Errorf("stack lacks panicstack::inner above panicstack::main:\n%s", stack)
	}
}
