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

// No package-level mutable variable in internal/ (docs/design.md: state
// is per core, or moved by message, or behind a lock the design names).
// A package-level var of a non-test file there is refused when
//
//   - it is written anywhere in its package, tests included: assigned,
//     incremented, assigned through (an element, a field, a pointee),
//     ranged into, its address taken, or handed to delete, clear or copy
//     as the destination;
//   - it has no initializer: its zero value can only be state (a mutex, a
//     counter, a cache filled later);
//   - it is exported and not a sentinel error (ErrX, or made by
//     errors.New or fmt.Errorf): any importer may change it; a table that
//     others read is a function or a constant.
//
// What is left is an unexported table or value made once at init and only
// read (a weights table, a compiled regexp, a CRC table): a constant that
// Go cannot spell as one. Method calls that mutate a value (a *T's
// methods) are not seen; TestNoMutablePackageVars says so where it counts.

// mutableVars returns the refused package-level vars of one package,
// given its files (path → source), as "path:line: name: why".
func mutableVars(files map[string][]byte) ([]string, error) {
	fset := token.NewFileSet()
	type pkgVar struct {
		spec *ast.ValueSpec
		pos  token.Position
		init ast.Expr
	}
	vars := map[string]pkgVar{}
	parsed := map[string]*ast.File{}
	var paths []string
	for path := range files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	pkg := ""
	for _, path := range paths {
		f, err := parser.ParseFile(fset, path, files[path], 0)
		if err != nil {
			return nil, err
		}
		parsed[path] = f
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		pkg = f.Name.Name
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name == "_" {
						continue
					}
					v := pkgVar{spec: vs, pos: fset.Position(n.Pos())}
					if len(vs.Values) == len(vs.Names) {
						v.init = vs.Values[i]
					}
					vars[n.Name] = v
				}
			}
		}
	}
	why := map[string]string{}
	for name, v := range vars {
		switch {
		case v.init == nil:
			why[name] = "no initializer: its zero value is state"
		case ast.IsExported(name) && !sentinelError(name, v.init):
			why[name] = "exported: any importer may change it (make it a function or a constant)"
		}
	}
	// Writes, in every file of the package (its internal tests included).
	for _, path := range paths {
		if f := parsed[path]; f.Name.Name == pkg { // not an external test package: it cannot name unexported vars
			noteWrites(fset, f, func(id *ast.Ident) (*ast.ValueSpec, bool) {
				v, ok := vars[id.Name]
				return v.spec, ok
			}, why)
		}
	}
	var out []string
	for name, w := range why {
		v := vars[name]
		out = append(out, fmt.Sprintf("%s:%d: %s: %s", v.pos.Filename, v.pos.Line, name, w))
	}
	sort.Strings(out)
	return out, nil
}

// noteWrites records in why, for each package-level var (lookup: its
// declaration) that f writes and why does not have yet, where.
func noteWrites(fset *token.FileSet, f *ast.File, lookup func(*ast.Ident) (*ast.ValueSpec, bool), why map[string]string) {
	ast.Inspect(f, func(n ast.Node) bool {
		for _, target := range writeTargets(n) {
			id := rootIdent(target)
			if id == nil {
				continue
			}
			spec, ok := lookup(id)
			if !ok || id.Obj != nil && id.Obj.Decl != spec {
				continue // not a package-level var, or shadowed by a local
			}
			if _, done := why[id.Name]; !done {
				why[id.Name] = "written at " + fset.Position(id.Pos()).String()
			}
		}
		return true
	})
}

// sentinelError reports whether a package-level var is an error value
// used as a sentinel: named ErrX, or made by errors.New or fmt.Errorf.
func sentinelError(name string, init ast.Expr) bool {
	if strings.HasPrefix(name, "Err") {
		return true
	}
	c, ok := init.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && (x.Name == "errors" && sel.Sel.Name == "New" || x.Name == "fmt" && sel.Sel.Name == "Errorf")
}

// writeTargets returns the expressions that node n writes to (or may
// write through).
func writeTargets(n ast.Node) []ast.Expr {
	switch n := n.(type) {
	case *ast.AssignStmt:
		if n.Tok != token.DEFINE {
			return n.Lhs
		}
	case *ast.IncDecStmt:
		return []ast.Expr{n.X}
	case *ast.RangeStmt:
		if n.Tok == token.ASSIGN {
			return []ast.Expr{n.Key, n.Value}
		}
	case *ast.UnaryExpr:
		if n.Op == token.AND {
			return []ast.Expr{n.X}
		}
	case *ast.CallExpr:
		if id, ok := n.Fun.(*ast.Ident); ok && id.Obj == nil && len(n.Args) > 0 {
			switch id.Name {
			case "delete", "clear", "copy":
				return n.Args[:1]
			}
		}
	}
	return nil
}

// rootIdent returns the variable an expression names or reaches into
// (x in x, x[i], x.f, *x, x[i:j]), or nil.
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.IndexExpr:
			e = x.X
		case *ast.SelectorExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.SliceExpr:
			e = x.X
		default:
			return nil
		}
	}
}

// TestNoMutablePackageVars: no package of internal/ has a package-level
// var that mutableVars refuses.
func TestNoMutablePackageVars(t *testing.T) {
	byDir := map[string]map[string][]byte{}
	for _, path := range moduleSources(t) {
		if !strings.HasPrefix(path, "internal/") || strings.Contains(path, "/testdata/") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(path)
		if byDir[dir] == nil {
			byDir[dir] = map[string][]byte{}
		}
		byDir[dir][path] = src
	}
	if len(byDir) < 20 {
		t.Fatalf("found %d packages in internal/; the walk is broken", len(byDir))
	}
	for _, files := range byDir {
		bad, err := mutableVars(files)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Error(b)
		}
	}
}

// TestMutableVarsChecker: the checker refuses what it should and lets
// sentinels and read-only tables be.
func TestMutableVarsChecker(t *testing.T) {
	cases := []struct {
		name string
		src  string
		test string // an internal test file of the package, if any
		want []string
	}{
		{"sentinels and tables", `package p
import ("errors"; "fmt"; "regexp")
var ErrA = errors.New("a")
var errB = fmt.Errorf("b")
var ErrC = &myErr{}
var table = []int{1, 2}
var re = regexp.MustCompile("x")
var _ = table
func f() int { table := []int{3}; table[0] = 4; return table[0] + len(re.String()) }
type myErr struct{}
func (*myErr) Error() string { return "" }`, "", nil},
		{"written", `package p
var n = 0
var m = map[int]int{}
var s = []int{1}
var st = struct{ x int }{}
var p = new(int)
var a = [2]int{}
var r = []int{1}
func f(q []int) {
	n++
	m[1] = 2
	s[0] = 3
	st.x = 4
	*p = 5
	g(&a)
	for _, r[0] = range q {}
}
func g(*[2]int) {}`, "", []string{
			"p.go:2: n: written at p.go:10:2",
			"p.go:3: m: written at p.go:11:2",
			"p.go:4: s: written at p.go:12:2",
			"p.go:5: st: written at p.go:13:2",
			"p.go:6: p: written at p.go:14:3",
			"p.go:7: a: written at p.go:15:5",
			"p.go:8: r: written at p.go:16:9",
		}},
		{"no initializer, exported, builtins", `package p
import "sync"
var mu sync.Mutex
var Flags = []string{"-O2"}
var d = map[int]int{1: 1}
var c = []byte("ab")
func f() { delete(d, 1); copy(c, "x") }`, "", []string{
			"p.go:3: mu: no initializer: its zero value is state",
			"p.go:4: Flags: exported: any importer may change it (make it a function or a constant)",
			"p.go:5: d: written at p.go:7:19",
			"p.go:6: c: written at p.go:7:31",
		}},
		{"written by a test", "package p\nvar hook = func() {}\n", "package p\nfunc init() { hook = nil }\n",
			[]string{"p.go:2: hook: written at p_test.go:2:15"}},
	}
	for _, c := range cases {
		files := map[string][]byte{"p.go": []byte(c.src)}
		if c.test != "" {
			files["p_test.go"] = []byte(c.test)
		}
		got, err := mutableVars(files)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}
