package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFresh fails when a file generated from the table differs from
// what Render makes now: edit the table, then `go generate ./internal/abi/spec`.
func TestGeneratedFresh(t *testing.T) {
	files, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", path))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./internal/abi/spec)", path, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/abi/spec", path)
		}
		first, _, _ := strings.Cut(string(got), "\n")
		if !strings.Contains(first, Generated) {
			t.Errorf("%s: first line %q does not say it is generated", path, first)
		}
	}
}

// TestTableWellFormed checks what the generators assume: unique names and
// values, codes numbered from 1 without gaps, every pointer parameter with a
// C type, and C names in the ABI's namespace.
func TestTableWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, f := range Funcs() {
		if names[f.Name] {
			t.Errorf("function %s declared twice", f.Name)
		}
		names[f.Name] = true
		if f.Doc == "" {
			t.Errorf("%s: no doc", f.Name)
		}
		for _, p := range f.Params {
			if (p.Kind == In || p.Kind == Out) && !strings.HasSuffix(p.C, "*") {
				t.Errorf("%s(%s): a pointer needs a C pointer type, has %q", f.Name, p.Name, p.C)
			}
		}
	}
	for i, c := range Codes() {
		if c.Value != uint32(i+1) {
			t.Errorf("code %s = %d, want %d", c.Name, c.Value, i+1)
		}
	}
	for _, c := range Consts() {
		if !strings.HasPrefix(c.CName, "ISLE_") {
			t.Errorf("const %s: C name %s", c.Name, c.CName)
		}
	}
}

// TestRenderDeterministic: the same table renders the same bytes.
func TestRenderDeterministic(t *testing.T) {
	a, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render()
	for p := range a {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two renders", p)
		}
	}
}
