package wasi_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"isle"
	"isle/internal/service"
	"isle/internal/testprog"
)

// pathStatDir makes the tree pathstat.c "many" expects.
func pathStatDir(t *testing.T) string {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "g"), []byte("gg"), 0o644)
	os.Symlink("f", filepath.Join(dir, "in"))
	return dir
}

// TestPathStatsStayOnCore: 1,000 stats and lstats of names whose lookups
// are in the host's dentry cache (found, missing, a symlink) are
// answered on the core, with the worker's answers.
func TestPathStatsStayOnCore(t *testing.T) {
	dir := pathStatDir(t)
	out, st, reqs := runCounted(t, cProg(t, "pathstat.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "many", "/d")
	if st != 0 || out != "many ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	// The first round's lookups may miss the dentry cache ("missing" has
	// never been looked up) and go to the worker; the exit and the output
	// are a few more.
	if reqs > 20 {
		t.Errorf("%d service requests for 1,000 path stats (at most 20 expected): they left the core", reqs)
	}
}

// TestPathStatUncachedFallsBack: the stat of a name that the host has never
// looked up is not in the dentry cache: RESOLVE_CACHED says EAGAIN and the
// worker answers (ENOENT), one request more than the stat of a cached name.
func TestPathStatUncachedFallsBack(t *testing.T) {
	dir := pathStatDir(t)
	wasm := cProg(t, "pathstat.c")
	dirs := []isle.Dir{{Host: dir, Guest: "/d"}}
	os.Stat(filepath.Join(dir, "f")) // in the cache
	out, _, cached := runCounted(t, wasm, dirs, "one", "/d/f")
	if out != "0 5\n" {
		t.Fatalf("stat of a cached file: %q", out)
	}
	fresh := fmt.Sprintf("/d/never-looked-up-%d", time.Now().UnixNano())
	out, _, uncached := runCounted(t, wasm, dirs, "one", fresh)
	if out != "44 -1\n" { // wasi-libc's ENOENT
		t.Fatalf("stat of a missing name: %q, want ENOENT (44)", out)
	}
	if uncached <= cached {
		t.Errorf("%d service requests for an uncached lookup, %d for a cached one: the uncached one did not go to the worker", uncached, cached)
	}
}

// TestPathOpensStayOnCore: 200 read-only opens, reads and closes of a
// cached file are made on the core; only the closes (posted, not waited
// for), the adoptions (posted) and the fsyncs, which the worker makes on the
// adopted files, leave it.
func TestPathOpensStayOnCore(t *testing.T) {
	dir := pathStatDir(t)
	out, st, reqs := runCounted(t, cProg(t, "pathstat.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "open", "/d")
	if st != 0 || out != "open ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	// Posted requests are not counted as requests the SIP waits for.
	if reqs > 20 {
		t.Errorf("%d service requests for 200 opens, reads and closes (at most 20 expected): they left the core", reqs)
	}
}

// TestDirOpensStayOnCore: 200 opens and closes of a cached directory are
// made on the core, with or without O_DIRECTORY; only the readdirs on
// them (the worker's, on the adopted directories) and the few opens the
// core leaves to the worker leave it. The directory opened on the core
// answers fd_fdstat_get and readdir as the one the worker opens, and a
// symlink, a file under O_DIRECTORY and an escape keep the worker's
// answers (pathstat.c "dirs").
func TestDirOpensStayOnCore(t *testing.T) {
	dir := pathStatDir(t)
	os.Mkdir(filepath.Join(dir, "sub", "deeper"), 0o755)
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	os.Symlink("sub", filepath.Join(dir, "dirlink"))
	out, st, reqs := runCounted(t, cProg(t, "pathstat.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "dirs", "/d")
	if st != 0 || out != "dirs ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	t.Logf("%d service requests", reqs)
	if reqs > 30 {
		t.Errorf("%d service requests for 200 directory opens and closes (at most 30 expected): they left the core", reqs)
	}
}

// TestGoDirOpensStayOnCore: Go's os.Open of a directory (a path_open with
// a file's rights, no O_DIRECTORY, of "." under the preopen), its Stat and
// its Close, as Go's file server makes them for every GET of a directory,
// are made on the core.
func TestGoDirOpensStayOnCore(t *testing.T) {
	dir := pathStatDir(t)
	out, st, reqs := runCounted(t, testprog.Go(t, "./testdata/wasi/godiropen"), []isle.Dir{{Host: dir, Guest: "/d"}}, "/d")
	if st != 0 || out != "godiropen ok f in sub\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	t.Logf("%d service requests", reqs)
	if reqs > 30 {
		t.Errorf("%d service requests for 200 directory opens, stats and closes (at most 30 expected): they left the core", reqs)
	}
}

// TestCoreOpensKeepTheQuota: testdata/hostile/rohog.c opens one cached file
// read-only until it fails; those opens are made on the core, and they
// still stop at the SIP's quota (EMFILE after MaxFilesPerSIP), and the
// quota is back once they are closed.
func TestCoreOpensKeepTheQuota(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", "rohog.c"))
	if err != nil {
		t.Fatal(err)
	}
	out, st, reqs := runCounted(t, testprog.C(t, string(src)), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}})
	want := fmt.Sprintf("rohog: opened %d, then EMFILE\nrohog: again ok\n", service.MaxFilesPerSIP)
	if st != 0 || out != want {
		t.Fatalf("status %d, output %q, want %q", st, out, want)
	}
	if reqs > service.MaxFilesPerSIP/2 {
		t.Errorf("%d service requests: the read-only opens were not made on the core", reqs)
	}
}

// TestCoreDirOpensKeepTheQuota: testdata/hostile/dirhog.c opens one cached
// directory until it fails; those opens are made on the core, and they
// still stop at the SIP's quota (EMFILE after MaxFilesPerSIP), and the
// quota is back once they are closed.
func TestCoreDirOpensKeepTheQuota(t *testing.T) {
	out, st, reqs := runCounted(t, dirHog(t), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}})
	want := fmt.Sprintf("dirhog: opened %d, then EMFILE\ndirhog: again ok\n", service.MaxFilesPerSIP)
	if st != 0 || out != want {
		t.Fatalf("status %d, output %q, want %q", st, out, want)
	}
	if reqs > service.MaxFilesPerSIP/2 {
		t.Errorf("%d service requests: the directory opens were not made on the core", reqs)
	}
}

// TestCoreDirOpensKeepTheBudget: with the host's limit lowered so that the
// machine's budget is 600 descriptors, dirhog's directories opened on the
// core, two descriptors each (the core's and the worker's os.Root), stop
// with ENFILE after 300, and the budget is back once they are closed.
func TestCoreDirOpensKeepTheBudget(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	const budget = 600
	limit := uint64(budget + service.HostFDReserve)
	if old.Cur < limit {
		t.Skipf("the host allows %d descriptors", old.Cur)
	}
	low := old
	low.Cur = limit
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	out, st, _ := runCounted(t, dirHog(t), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}})
	// The preopen's directory and root are opened before the budget counts.
	want := fmt.Sprintf("dirhog: opened %d, then ENFILE\ndirhog: again ok\n", budget/service.AdoptedDirFDs)
	if st != 0 || out != want {
		t.Fatalf("status %d, output %q, want %q", st, out, want)
	}
}

func dirHog(t *testing.T) string {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", "dirhog.c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}
