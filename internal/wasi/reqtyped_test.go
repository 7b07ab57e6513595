package wasi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequestsPutByType: the personality names no argument slot of a
// kernel.Request (Op, Fd, Off, Str, Str2, Flags); it puts the services'
// typed requests (service.FSRenameReq ...) and reads packed results through
// their accessors, so that an operation's arguments are fields the compiler
// checks, declared once beside the service that reads them.
func TestRequestsPutByType(t *testing.T) {
	slots := map[string]bool{"Op": true, "Fd": true, "Off": true, "Str": true, "Str2": true, "Flags": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		calls := map[ast.Expr]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				calls[n.Fun] = true // a method named like a slot (f.Fd()) is no slot
			case *ast.SelectorExpr:
				if slots[n.Sel.Name] && !calls[n] {
					t.Errorf("%s: names the request slot %s; put a typed request", fset.Position(n.Pos()), n.Sel.Name)
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Request" {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if id, ok := kv.Key.(*ast.Ident); ok && slots[id.Name] {
								t.Errorf("%s: sets the request slot %s in a literal; put a typed request", fset.Position(kv.Pos()), id.Name)
							}
						}
					}
				}
			}
			return true
		})
	}
}
