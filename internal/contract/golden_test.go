package contract

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the checker's output")

// TestGolden checks each testdata/X.contract and compares its diagnostics,
// one a line, with testdata/X.golden (empty for a clean file). Run with
// -update to rewrite the golden files, then read the diff.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.contract")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			diags, err := CheckFiles([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, d := range diags {
				b.WriteString(d.String())
				b.WriteString("\n")
			}
			golden := strings.TrimSuffix(path, ".contract") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("%s:\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
