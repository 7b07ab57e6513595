package contract

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lines joins its arguments with newlines, so that a test's source reads
// line by line and positions are easy to count.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// good is a minimal clean contract that cases below break one rule at a time.
const good = "contract A { msg M initial final state S { imp M -> S } }\n"

// diagCase is a source and the diagnostics it must get, exactly.
type diagCase struct {
	name string
	src  string
	want []string
}

// TestDiagnostics has one case per kind of diagnostic, with its exact
// position and text.
func TestDiagnostics(t *testing.T) {
	tests := []diagCase{
		{"clean", good, nil},
		{"empty file", "", nil},
		{"comments only", "// nothing here\n", nil},
	}
	tests = append(tests, syntaxDiagnostics()...)
	tests = append(tests, nameDiagnostics()...)
	tests = append(tests, stateDiagnostics()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := CheckSource("t", []byte(tt.src))
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// syntaxDiagnostics are TestDiagnostics' syntax errors.
func syntaxDiagnostics() []diagCase {
	return []diagCase{
		{"top level not contract", "msg M\n",
			[]string{`t:1:1: expected "contract", found "msg"`}},
		{"missing contract name", "contract { }\n",
			[]string{`t:1:10: expected contract name, found '{'`}},
		{"unexpected character", "contract A { msg M initial final state S { imp M -> S } } $\n",
			[]string{`t:1:59: unexpected character '$'`}},
		{"invalid UTF-8", "contract A \xff{ msg M initial final state S {} }\n",
			[]string{`t:1:12: invalid UTF-8 encoding`}},
		{"missing arrow", lines(
			"contract A {",
			"  msg M",
			"  initial final state S { imp M S }",
			"}"),
			[]string{`t:3:33: expected '->', found "S"`}},
		{"missing close at EOF", "contract A { msg M initial final state S {}",
			[]string{`t:1:44: expected '}' to close contract A, found end of file`}},
		{"bad field list", "contract A { msg M(a i32 b i32) initial final state S {} }\n",
			[]string{`t:1:26: expected ',' or ')', found "b"`}},
		{"bad endpoint type", "contract A { msg M(a imp<>) initial final state S {} }\n",
			[]string{`t:1:26: expected contract name, found '>'`}},
		{"bad body word", "contract A { mesg M initial final state S {} }\n",
			[]string{`t:1:14: expected "msg", "state", "initial", "final" or '}', found "mesg"`}},
		{"bad transition", "contract A { msg M initial final state S { send M -> S } }\n",
			[]string{`t:1:44: expected "imp", "exp" or '}', found "send"`}},
		{"modifier twice", "contract A { msg M initial initial final state S {} }\n",
			[]string{`t:1:28: initial given twice`}},
		{"one error per mistake", lines(
			"contract A {",
			"  msg M(a i32,, b i32)",
			"  initial final state S { imp M -> S }",
			"}",
			"contract B { msg N initial final state T { imp N -> } }"),
			[]string{
				`t:2:15: expected field name or ')', found ','`,
				`t:5:53: expected state name, found '}'`,
			}},
	}
}

// nameDiagnostics are TestDiagnostics' errors of names and types.
func nameDiagnostics() []diagCase {
	return []diagCase{
		{"duplicate contract", good + good,
			[]string{`t:2:10: contract A redeclared (first declared at 1:10)`}},
		{"duplicate message", "contract A { msg M msg M initial final state S {} }\n",
			[]string{`t:1:24: message M redeclared in contract A (first declared at 1:18)`}},
		{"duplicate field", "contract A { msg M(a i32, a u32) initial final state S {} }\n",
			[]string{`t:1:27: field a redeclared in message M (first declared at 1:20)`}},
		{"duplicate state", lines(
			"contract A {",
			"  initial final state S {}",
			"  final state S {}",
			"}"),
			[]string{`t:3:15: state S redeclared in contract A (first declared at 2:23)`}},
		{"undefined message", "contract A { initial final state S { imp M -> S } }\n",
			[]string{`t:1:42: undefined message M in contract A`}},
		{"undefined state", "contract A { msg M initial final state S { imp M -> T } }\n",
			[]string{`t:1:53: undefined state T in contract A`}},

		// Types.
		{"unknown type", "contract A { msg M(a int) initial final state S {} }\n",
			[]string{`t:1:22: unknown type int (want i32, i64, u32, u64, f64, bool, string, bytes, imp<C> or exp<C>)`}},
		{"endpoint of undefined contract", "contract A { msg M(a exp<B>) initial final state S {} }\n",
			[]string{`t:1:26: endpoint of undefined contract B`}},
		{"endpoint without contract", "contract A { msg M(a imp) initial final state S {} }\n",
			[]string{`t:1:22: endpoint type imp needs a contract: imp<Name>`}},
		{"endpoint of a later contract is fine", lines(
			"contract A { msg M(b imp<B>, a exp<A>) initial final state S { imp M -> S } }",
			"contract B { initial final state T {} }"),
			nil},
	}
}

// stateDiagnostics are TestDiagnostics' errors of states.
func stateDiagnostics() []diagCase {
	return []diagCase{
		{"no initial state", "contract A { msg M final state S {} }\n",
			[]string{`t:1:10: contract A has no initial state`}},
		{"second initial state", lines(
			"contract A {",
			"  msg M",
			"  initial state S { imp M -> T }",
			"  initial final state T {}",
			"}"),
			[]string{`t:4:23: second initial state T in contract A (S is initial, at 3:17)`}},
		{"duplicate transition", lines(
			"contract A {",
			"  msg M",
			"  initial final state S { imp M -> S imp M -> S }",
			"}"),
			[]string{`t:3:38: duplicate transition imp M in state S`}},
		{"mixed state", lines(
			"contract A {",
			"  msg Req",
			"  msg Ev",
			"  initial final state S {",
			"    imp Req -> S",
			"    exp Ev -> S",
			"  }",
			"}"),
			[]string{`t:4:23: mixed state S: both the importer (imp Req at 5:5) and the exporter (exp Ev at 6:5) may send`}},
		{"no way out", lines(
			"contract A {",
			"  msg M",
			"  initial state S { imp M -> T }",
			"  state T {}",
			"}"),
			[]string{`t:4:9: state T has no way out and is not final`}},
		{"unreachable", lines(
			"contract A {",
			"  msg M",
			"  initial final state S { imp M -> S }",
			"  final state Lost { exp M -> S }",
			"}"),
			[]string{`t:4:15: state Lost is unreachable from initial state S`}},
		{"several, sorted by position", lines(
			"contract A {",
			"  msg M(x nope)",
			"  state Lost {}",
			"  initial state S { imp M -> S exp M -> S }",
			"}"),
			[]string{
				`t:2:11: unknown type nope (want i32, i64, u32, u64, f64, bool, string, bytes, imp<C> or exp<C>)`,
				`t:3:9: state Lost has no way out and is not final`,
				`t:3:9: state Lost is unreachable from initial state S`,
				`t:4:17: mixed state S: both the importer (imp M at 4:21) and the exporter (exp M at 4:32) may send`,
			}},
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("contract A {\n")
	for i := range MaxMessages + 1 {
		b.WriteString("  msg M")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString("\n")
	}
	b.WriteString("  initial final state S {}\n}\n")
	_, diags := CheckSource("t", []byte(b.String()))
	if len(diags) == 0 || !strings.Contains(diags[0].Msg, "more than 1024 messages") {
		t.Fatalf("want a too-many-messages diagnostic, got %v", diags)
	}
	if want := (Pos{MaxMessages + 2, 7}); diags[0].Pos != want {
		t.Errorf("at %v, want %v", diags[0].Pos, want)
	}
}

func TestBadRunIsOneDiagnostic(t *testing.T) {
	_, diags := CheckSource("t", []byte("contract A { msg M = 42; initial final state S {} }\n"))
	want := []string{`t:1:20: unexpected character '='`, `t:1:22: unexpected character '4'`}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHandBuiltTreeWithoutSide(t *testing.T) {
	f, _ := ParseFile("t", []byte(good))
	f.Contracts[0].States[0].Transitions[0].Side = Side(7)
	diags := Check(f)
	if len(diags) != 1 || diags[0].String() != "t:1:44: transition with no side (want imp or exp)" {
		t.Errorf("got %v", diags)
	}
}
