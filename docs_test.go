package isle_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docFiles are the Markdown files a user reads: README.md and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, files...)
}

var (
	fenced     = regexp.MustCompile("(?ms)^```.*?^```")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^\s{0,3}\[[^\]]+\]:\s*(\S+)`)
	htmlLink   = regexp.MustCompile(`(?i)(?:href|src)="([^"]+)"`)
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// links returns the link targets of a Markdown text, outside code blocks
// and code spans.
func links(md string) []string {
	var prose []string
	for _, line := range strings.Split(fenced.ReplaceAllString(md, ""), "\n") {
		if strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
			continue // an indented code block
		}
		prose = append(prose, codeSpan.ReplaceAllString(line, ""))
	}
	text := strings.Join(prose, "\n")
	var out []string
	for _, re := range []*regexp.Regexp{inlineLink, refLink, htmlLink} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			out = append(out, strings.Trim(m[1], "<>"))
		}
	}
	return out
}

// checkLink says what is wrong with a link from file (a path relative to
// the repository's root) to target, or "" if it resolves inside it.
func checkLink(file, target string) string {
	if strings.HasPrefix(target, "#") {
		return "" // an anchor in the same file
	}
	if scheme.MatchString(target) {
		return "is a web address: outside the repository (name the project in text)"
	}
	path, _, _ := strings.Cut(target, "#")
	path, _, _ = strings.Cut(path, "?")
	if strings.HasPrefix(path, "/") {
		return "an absolute path, outside the repository"
	}
	rel := filepath.Clean(filepath.Join(filepath.Dir(file), filepath.FromSlash(path)))
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "leaves the repository"
	}
	if rel == "shared" || strings.HasPrefix(rel, "shared"+string(filepath.Separator)) {
		return "points into shared/, which a clone of the repository does not have"
	}
	if _, err := os.Stat(rel); err != nil {
		return "names nothing in the repository (" + rel + ")"
	}
	return ""
}

// TestDocLinks: every link in README.md and docs/*.md names a file or
// directory of the repository, and none leaves it (no web addresses); no text names the
// design brief that lived outside it (DESIGN.md), whose record is
// docs/design.md.
func TestDocLinks(t *testing.T) {
	for _, f := range docFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range links(string(b)) {
			n++
			if why := checkLink(f, l); why != "" {
				t.Errorf("%s: link %q %s", f, l, why)
			}
		}
		if strings.Contains(string(b), "DESIGN.md") {
			t.Errorf("%s names DESIGN.md, which is not in the repository (docs/design.md is)", f)
		}
		t.Logf("%s: %d links", f, n)
	}
}

// TestDocLinkChecker: the checker refuses what it must, so that
// TestDocLinks can fail.
func TestDocLinkChecker(t *testing.T) {
	md := "See [design](../shared/DESIGN.md), [k](docs/kernel.md#the-loop), [w](https://example.com),\n" +
		"[a](#top), [gone](docs/nothing.md), [up](docs/../../x.md), [abs](/etc/passwd), `[code](../no.md)`\n" +
		"    [indented](../no.md)\n```\n[fenced](../no.md)\n```\n[ref]: docs/kernel.md\n<img src=\"docs/tables.png\">\n"
	got := map[string]string{}
	for _, l := range links(md) {
		got[l] = checkLink("README.md", l)
	}
	want := map[string]bool{ // target → refused
		"../shared/DESIGN.md": true, "docs/kernel.md#the-loop": false, "https://example.com": true,
		"#top": false, "docs/nothing.md": true, "docs/../../x.md": true, "/etc/passwd": true,
		"docs/kernel.md": false, "docs/tables.png": false,
	}
	if len(got) != len(want) {
		t.Errorf("links found: %q; want those of %v", got, want)
	}
	for l, refused := range want {
		why, ok := got[l]
		if !ok || (why != "") != refused {
			t.Errorf("link %q: found %v, refused %q; want refused %v", l, ok, why, refused)
		}
	}
	if why := checkLink("docs/design.md", "../shared/x"); !strings.Contains(why, "shared/") {
		t.Errorf("docs/design.md → ../shared/x: %q, want it refused as shared/", why)
	}
}

// layerRow is a row of docs/design.md's table of rooms: "| 3 | `a`, `b` | …".
var layerRow = regexp.MustCompile("^\\|\\s*(\\d+|guest)\\s*\\|([^|]*)\\|")

// designLayers reads the layers of docs/design.md: import path → layer
// (-1 for guest programs), and the prefixes of entries ending in "/…".
func designLayers(t *testing.T) (map[string]int, map[string]int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	exact, prefix := map[string]int{}, map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		m := layerRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		layer := -1
		if m[1] != "guest" {
			layer, _ = strconv.Atoi(m[1])
		}
		for _, p := range codeSpan.FindAllString(m[2], -1) {
			p = strings.Trim(p, "`")
			path := "isle/" + p
			if p == "isle" {
				path = "isle"
			}
			if pre, ok := strings.CutSuffix(path, "/…"); ok {
				prefix[pre+"/"] = layer
			} else {
				exact[path] = layer
			}
		}
	}
	if len(exact) < 20 {
		t.Fatalf("read %d packages from docs/design.md's table of rooms; the table's form changed?", len(exact))
	}
	return exact, prefix
}

// TestImportLayers: docs/design.md's table of rooms is the direction of
// imports. Every package of the module is in it; each imports isle's
// packages only from lower layers (guest programs only guest packages and
// their own example's); only internal/sandbox imports wazero, and only
// bench gonum's plot.
func TestImportLayers(t *testing.T) {
	exact, prefix := designLayers(t)
	layerOf := func(p string) (int, bool) {
		if l, ok := exact[p]; ok {
			return l, true
		}
		for pre, l := range prefix {
			if strings.HasPrefix(p, pre) {
				return l, true
			}
		}
		return 0, false
	}
	out, err := goTool(t, "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		listed[pkg] = true
		layer, ok := layerOf(pkg)
		if !ok {
			t.Errorf("%s is in no layer of docs/design.md's table of rooms", pkg)
			continue
		}
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/tetratelabs/wazero") && pkg != "isle/internal/sandbox" {
				t.Errorf("%s imports %s: only internal/sandbox may import wazero", pkg, imp)
			}
			if strings.HasPrefix(imp, "gonum.org/") && pkg != "isle/bench" {
				t.Errorf("%s imports %s: only bench may import the plotting library", pkg, imp)
			}
			if imp != "isle" && !strings.HasPrefix(imp, "isle/") {
				continue
			}
			il, ok := layerOf(imp)
			switch {
			case !ok:
				t.Errorf("%s imports %s, which is in no layer", pkg, imp)
			case layer == -1 && il != -1:
				t.Errorf("guest program %s imports %s, a host package", pkg, imp)
			case layer == -1 && strings.HasPrefix(imp, "isle/examples/") && !sameExample(pkg, imp):
				t.Errorf("guest program %s imports another example's %s", pkg, imp)
			case layer != -1 && il >= layer:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports go to lower layers only", pkg, layer, imp, il)
			}
		}
	}
	for p := range exact {
		if !listed[p] {
			if _, err := os.Stat(strings.TrimPrefix(strings.TrimPrefix(p, "isle"), "/") + "/"); err != nil {
				t.Errorf("docs/design.md names %s, which does not exist", p)
			}
		}
	}
}

// sameExample reports whether two packages under examples/ are of one example.
func sameExample(a, b string) bool {
	first := func(p string) string {
		rest := strings.TrimPrefix(p, "isle/examples/")
		name, _, _ := strings.Cut(rest, "/")
		return name
	}
	return first(a) == first(b)
}

// TestLocksListed: docs/design.md's table of locks names, as `Type.field`
// (or `package.var`), every sync.Mutex and sync.RWMutex declared outside
// tests anywhere in the module (the commands and benchmarks too), and every
// atomic declared in the root package and internal/; internal/urpc's
// atomics are its ring protocol, described there as a whole.
func TestLocksListed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	n := 0
	declared := map[string]bool{}
	for _, f := range moduleSources(t) {
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "/testdata/") {
			continue
		}
		decls, all := syncDecls(t, f)
		for _, name := range all {
			declared[name] = true
		}
		atomics := !strings.HasPrefix(f, "internal/urpc/") && (!strings.Contains(f, "/") || strings.HasPrefix(f, "internal/"))
		for _, name := range decls {
			if !name.lock && !atomics {
				continue
			}
			n++
			if !strings.Contains(doc, "`"+name.name+"`") {
				t.Errorf("%s: %s (%s) is not in docs/design.md's table of locks", f, name.name, name.typ)
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d locks and atomics; the scan is broken", n)
	}
	// And the table names nothing that is gone: each `Type.field` of its
	// first column is declared.
	_, section, _ := strings.Cut(doc, "\n## Every lock")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.Contains(cells[1], "`") {
			continue // not a row of the four-column table, or its header
		}
		rows++
		for _, c := range codeSpan.FindAllString(cells[1], -1) {
			if name := strings.Trim(c, "`"); declaredName.MatchString(name) && !declared[name] {
				t.Errorf("docs/design.md's table of locks names %s, which no longer exists", name)
			}
		}
	}
	if rows < 15 {
		t.Errorf("read %d rows of docs/design.md's table of locks; its form changed?", rows)
	}
}

// declaredName is a `Type.field` or `package.var` of the table of locks.
var declaredName = regexp.MustCompile(`^[A-Za-z_]\w*\.[A-Za-z_]\w*$`)

type syncDecl struct {
	name, typ string
	lock      bool // a mutex, not an atomic
}

// syncDecls returns the mutexes and atomics that file declares as struct
// fields (Type.field) or package variables (package.var), and the names of
// all its struct fields and package variables.
func syncDecls(t *testing.T, file string) ([]syncDecl, []string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	kind := func(e ast.Expr) (string, bool, bool) {
		if ix, ok := e.(*ast.IndexExpr); ok { // atomic.Pointer[T]
			e = ix.X
		}
		if ar, ok := e.(*ast.ArrayType); ok { // []atomic.Pointer[T]
			return kindOf(ar.Elt)
		}
		return kindOf(e)
	}
	var out []syncDecl
	var all []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range g.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				st, ok := s.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					for _, n := range fl.Names {
						all = append(all, s.Name.Name+"."+n.Name)
					}
					if typ, lock, ok := kind(fl.Type); ok {
						for _, n := range fl.Names {
							out = append(out, syncDecl{s.Name.Name + "." + n.Name, typ, lock})
						}
					}
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					all = append(all, f.Name.Name+"."+n.Name)
				}
				if s.Type == nil {
					continue
				}
				if typ, lock, ok := kind(s.Type); ok {
					for _, n := range s.Names {
						out = append(out, syncDecl{f.Name.Name + "." + n.Name, typ, lock})
					}
				}
			}
		}
	}
	return out, all
}

// kindOf reports whether e is sync.Mutex, sync.RWMutex or an atomic type.
func kindOf(e ast.Expr) (string, bool, bool) {
	if ix, ok := e.(*ast.IndexExpr); ok {
		e = ix.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", false, false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", false, false
	}
	typ := pkg.Name + "." + sel.Sel.Name
	switch {
	case typ == "sync.Mutex" || typ == "sync.RWMutex":
		return typ, true, true
	case pkg.Name == "atomic":
		return typ, false, true
	}
	return "", false, false
}
