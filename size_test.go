package isle_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The size targets of the code (STYLE.md, after xv6): a file rarely past
// ~700 lines, a function rarely past ~80, counted from its func line to its
// closing brace (its doc comment not counted). Generated files are exempt.
const (
	maxFileLines = 700
	maxFuncLines = 80
)

// sizeAllowed lists what may be over its limit while it is being split
// elsewhere; each entry is a path, or "path:Func" (a method is
// "Recv.Method"). Empty: every file and function is within its limit.
var sizeAllowed = map[string]bool{}

// generated is Go's convention for a generated file's header
// (https://go.dev/s/generatedcode).
var generated = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// isGenerated reports whether a Go source carries the generated header
// on a line before its package clause.
func isGenerated(src []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), len(src)+1)
	for sc.Scan() {
		line := sc.Text()
		if generated.MatchString(line) {
			return true
		}
		if strings.HasPrefix(line, "package ") {
			return false
		}
	}
	return false
}

// oversize is one file or function over its limit.
type oversize struct {
	key   string // "path" for a file, "path:Func" for a function
	lines int
	limit int
}

func (o oversize) String() string {
	return fmt.Sprintf("%s is %d lines (limit %d)", o.key, o.lines, o.limit)
}

// funcName is "Func" or "Recv.Method" for a declaration.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch r := t.(type) {
	case *ast.IndexExpr: // a generic receiver T[P]
		t = r.X
	case *ast.IndexListExpr:
		t = r.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// sizesOf returns what in one Go source is over its limit; path is the
// source's name relative to the module root, with forward slashes.
func sizesOf(path string, src []byte) ([]oversize, error) {
	if isGenerated(src) {
		return nil, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []oversize
	if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
		out = append(out, oversize{path, n, maxFileLines})
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
		if n > maxFuncLines {
			out = append(out, oversize{path + ":" + funcName(fd), n, maxFuncLines})
		}
	}
	return out, nil
}

// moduleSources returns every .go file of the module (its tests and
// testdata included), relative to the root, skipping hidden directories.
func moduleSources(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// TestSizes: no non-generated Go file of the module is over maxFileLines
// lines and no function over maxFuncLines, except those in sizeAllowed.
func TestSizes(t *testing.T) {
	files := moduleSources(t)
	if len(files) < 100 {
		t.Fatalf("found %d Go files; the walk is broken", len(files))
	}
	seen := map[string]bool{}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		over, err := sizesOf(path, src)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		for _, o := range over {
			if sizeAllowed[o.key] {
				seen[o.key] = true
				continue
			}
			t.Errorf("%v: split it into named steps", o)
		}
	}
	for key := range sizeAllowed {
		if !seen[key] {
			t.Logf("%s is allowed over the limit but is not over it (or gone): drop it from sizeAllowed", key)
		}
	}
}

// TestSizesChecker: the checker counts what it should and honours the
// generated header.
func TestSizesChecker(t *testing.T) {
	long := func(name string, n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "func %s() {\n", name)
		for i := 0; i < n-2; i++ {
			b.WriteString("\t_ = 0\n")
		}
		b.WriteString("}\n")
		return b.String()
	}
	cases := []struct {
		name, src string
		want      []string
	}{
		{"short", "package p\n\n" + long("f", maxFuncLines), nil},
		{"long func", "package p\n\n" + long("f", maxFuncLines+1), []string{"p.go:f is 81 lines (limit 80)"}},
		{"method", "package p\n\ntype T[X any] struct{}\n\n" + strings.Replace(long("f", 90), "func f", "func (t *T[X]) f", 1),
			[]string{"p.go:T.f is 90 lines (limit 80)"}},
		{"long file", "package p\n" + strings.Repeat("\n", maxFileLines), []string{"p.go is 701 lines (limit 700)"}},
		{"generated", "// Code generated by x. DO NOT EDIT.\n\npackage p\n\n" + long("f", 200), nil},
		{"generated after package", "package p\n\n// Code generated by x. DO NOT EDIT.\n\n" + long("f", 200),
			[]string{"p.go:f is 200 lines (limit 80)"}},
	}
	for _, c := range cases {
		over, err := sizesOf("p.go", []byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, o := range over {
			got = append(got, o.String())
		}
		if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
