package contract

import (
	"cmp"
	"fmt"
	"slices"
)

// Pos is a position in a contract source file. Line and Col are 1-based;
// Col counts bytes from the start of the line, as Go's own tools do, so a
// tab or a multi-byte character advances it by its length in bytes.
type Pos struct {
	Line, Col int
}

// IsValid reports whether p names a place in a file.
func (p Pos) IsValid() bool { return p.Line > 0 && p.Col > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

func (p Pos) compare(q Pos) int {
	if c := cmp.Compare(p.Line, q.Line); c != 0 {
		return c
	}
	return cmp.Compare(p.Col, q.Col)
}

// A Diagnostic is one problem found in a contract file: a syntax error or a
// violation of a rule of the checker (see docs/contracts.md).
type Diagnostic struct {
	File string // the name the file was parsed under
	Pos  Pos
	Msg  string // lower case, no trailing period
}

// String formats d as "file:line:col: message", the form editors and
// compilers use.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Pos.Line, d.Pos.Col, d.Msg)
}

// sortDiagnostics orders ds by position, then by message, and drops exact
// duplicates, so that the output never depends on map order or on the order
// in which checks ran. Files keep the relative order they came in.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	fileRank := map[string]int{}
	for _, d := range ds {
		if _, ok := fileRank[d.File]; !ok {
			fileRank[d.File] = len(fileRank)
		}
	}
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		if c := cmp.Compare(fileRank[a.File], fileRank[b.File]); c != 0 {
			return c
		}
		if c := a.Pos.compare(b.Pos); c != 0 {
			return c
		}
		return cmp.Compare(a.Msg, b.Msg)
	})
	return slices.Compact(ds)
}
