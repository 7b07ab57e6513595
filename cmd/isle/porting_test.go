package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// rustProg builds a Rust source file of testdata for wasm32-wasi with
// Debian's rustc and libstd-rust-dev-wasm32.
func rustProg(t *testing.T, name string) string {
	t.Helper()
	rustc := "/usr/bin/rustc" // Debian's: the one with the wasm32-wasi standard library
	if _, err := os.Stat(rustc); err != nil {
		t.Fatal("Debian's rustc not installed: apt-get install rustc libstd-rust-dev-wasm32")
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".rs")+".wasm")
	src := filepath.Join(testprog.Root(t), "testdata", name)
	if b, err := exec.Command(rustc, "--target", "wasm32-wasi", "-O", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("rustc %s: %v\n%s", name, err, b)
	}
	return out
}

func testdataCProg(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

// TestDirDot: `isle run --dir .` offers the working directory so that Go, C
// and Rust programs all read, list and write it by relative names (Go's
// runtime found no preopen for "." and every file call failed with EBADF).
func TestDirDot(t *testing.T) {
	progs := map[string]string{
		"go":   testprog.Go(t, "./testdata/dotdir"),
		"c":    testdataCProg(t, "dotdir.c"),
		"rust": rustProg(t, "dotdir.rs"),
	}
	for _, lang := range []string{"go", "c", "rust"} {
		for _, dir := range []string{".", "./", ".:.", ".:/"} {
			t.Run(lang+"/"+dir, func(t *testing.T) {
				wd := t.TempDir()
				if err := os.WriteFile(filepath.Join(wd, "hello.txt"), []byte("hi there\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Chdir(wd)
				st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, "--dir", dir, progs[lang])
				if st != 0 || errs != "" {
					t.Fatalf("exit status %d, stderr %q, stdout %q", st, errs, out)
				}
				if want := "read: hi there\nls: [hello.txt]\n"; out != want {
					t.Errorf("stdout %q, want %q", out, want)
				}
				b, err := os.ReadFile(filepath.Join(wd, "out.txt"))
				if err != nil || string(b) != "written\n" {
					t.Errorf("out.txt: %q, %v", b, err)
				}
			})
		}
	}
}

// TestDirEnvInherit: with --env-inherit, the inherited PWD (a host path)
// is rewritten as the program names the same directory, so a Go program,
// which takes its working directory from PWD, still finds its files by
// relative paths: under --dir . it is "/"; under a parent preopened as /up
// it is /up/sub; under the host's / it stays the host path; an --env PWD
// wins over it.
func TestDirEnvInherit(t *testing.T) {
	prog := testprog.Go(t, "./testdata/dotdir")
	parent := t.TempDir()
	wd := filepath.Join(parent, "sub")
	if err := os.Mkdir(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	t.Setenv("PWD", wd)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"dot", []string{"--dir", "."}},
		{"parent", []string{"--dir", parent + ":/up"}},
		{"parent and dot", []string{"--dir", parent + ":/up", "--dir", "."}},
		{"root", []string{"--dir", "/"}},
		{"env wins", []string{"--dir", parent + ":/up", "--env", "PWD=/up/sub"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(wd, "out.txt"))
			if err := os.WriteFile(filepath.Join(wd, "hello.txt"), []byte("hi there\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"run", "--cache-dir", testCache, "--env-inherit"}, c.args...), prog)
			st, out, errs := isleCmd(t, args...)
			if want := "read: hi there\nls: [hello.txt]\n"; st != 0 || out != want || errs != "" {
				t.Errorf("status %d, stdout %q, stderr %q; want %q", st, out, errs, want)
			}
			if b, err := os.ReadFile(filepath.Join(wd, "out.txt")); err != nil || string(b) != "written\n" {
				t.Errorf("out.txt: %q, %v", b, err)
			}
		})
	}
}

// TestEnvInherit: --env-inherit passes isle's environment to the program,
// --env overrides one of its variables (the program sees it once), and
// without --env-inherit nothing is inherited.
func TestEnvInherit(t *testing.T) {
	prog := testdataCProg(t, "printenv.c")
	t.Setenv("ISLE_TEST_INHERITED", "from the host")
	t.Setenv("ISLE_TEST_OVERRIDDEN", "host value")
	st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, "--env-inherit", "--env", "ISLE_TEST_OVERRIDDEN=flag value", prog)
	if st != 0 || errs != "" {
		t.Fatalf("exit status %d, stderr %q", st, errs)
	}
	for _, want := range []string{"env ISLE_TEST_INHERITED=from the host\n", "env ISLE_TEST_OVERRIDDEN=flag value\n", "env PATH=" + os.Getenv("PATH") + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "ISLE_TEST_OVERRIDDEN="); n != 1 {
		t.Errorf("the program sees ISLE_TEST_OVERRIDDEN %d times, want once:\n%s", n, out)
	}
	if got, want := strings.Count(out, "\nenv "), len(os.Environ()); got != want {
		t.Errorf("the program sees %d variables, want the host's %d", got, want)
	}
	st, out, _ = isleCmd(t, "run", "--cache-dir", testCache, "--env", "ONLY=this", prog)
	if st != 0 || strings.Contains(out, "ISLE_TEST_INHERITED") || !strings.Contains(out, "env ONLY=this\n") {
		t.Errorf("without --env-inherit: status %d, stdout:\n%s", st, out)
	}
}

// TestArgv0: a program's argv[0] is the base name of its path, as wasmtime
// and wazero give it; --argv0 sets it.
func TestArgv0(t *testing.T) {
	prog := testdataCProg(t, "printenv.c")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, filepath.Base(prog)},
		{[]string{"--argv0", "tool"}, "tool"},
		{[]string{"--argv0", "/bin/sh"}, "/bin/sh"},
	} {
		args := append(append([]string{"run", "--cache-dir", testCache}, c.flags...), prog, "x")
		st, out, errs := isleCmd(t, args...)
		if want := "argv[0] = " + c.want + "\nargv[1] = x\n"; st != 0 || out != want {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want %q", c.flags, st, out, errs, want)
		}
	}
	if st, _, errs := isleCmd(t, "run", "--argv0", "", prog); st != 2 || !strings.Contains(errs, "--argv0") {
		t.Errorf("--argv0 \"\": status %d, stderr %q", st, errs)
	}
}
