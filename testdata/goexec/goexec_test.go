package goexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadsItsTestdata reads testdata/ by a relative path: Go's runtime
// resolves it against PWD, the package directory, in the "/" preopen.
func TestReadsItsTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/hello.txt")
	if err != nil || string(b) != "hello from testdata\n" {
		t.Fatalf("testdata/hello.txt: %q, %v", b, err)
	}
	wd, err := os.Getwd()
	if err != nil || !filepath.IsAbs(wd) || filepath.Base(wd) != "goexec" {
		t.Errorf("Getwd: %q, %v; want the package's absolute directory", wd, err)
	}
}

// TestTempDir writes, renames and lists files in the go command's
// temporary directory, by its absolute host path.
func TestTempDir(t *testing.T) {
	d := t.TempDir()
	a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
	if err := os.WriteFile(a, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(d)
	if err != nil || len(es) != 1 || es[0].Name() != "b" {
		t.Fatalf("ReadDir: %v, %v", es, err)
	}
}

// TestEnvironment: the runner's environment is the program's.
func TestEnvironment(t *testing.T) {
	if got := os.Getenv("ISLE_GOEXEC_MARK"); got != "passed through" {
		t.Errorf("ISLE_GOEXEC_MARK = %q", got)
	}
	if os.Getenv("PATH") == "" {
		t.Error("no PATH")
	}
}

// TestArgs: the binary is named pkg.test and gets go test's -test.* flags.
func TestArgs(t *testing.T) {
	if filepath.Base(os.Args[0]) != "goexec.test" {
		t.Errorf("argv[0] = %q", os.Args[0])
	}
	flags := strings.Join(os.Args[1:], " ")
	if !strings.Contains(flags, "-test.") {
		t.Errorf("args %q: no -test. flags", flags)
	}
}

// TestDeepRecursion goes a million calls deep.
func TestDeepRecursion(t *testing.T) {
	if got := Depth(1_000_000); got != 1_000_000 {
		t.Errorf("Depth = %d", got)
	}
}

// TestFailsWhenAsked fails if ISLE_GOEXEC_FAIL is set, so that the outer
// test sees a failure reach go test's exit status.
func TestFailsWhenAsked(t *testing.T) {
	if os.Getenv("ISLE_GOEXEC_FAIL") != "" {
		t.Fatal("failing as asked")
	}
}
