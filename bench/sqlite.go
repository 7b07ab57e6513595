package bench

// The SQLite row of the wasi suite: bench/wasi/sqlbench.c (a 200,000-row
// insert, an index, a group-by, an update, a delete, a VACUUM: some 270,000
// small file calls) against SQLite's amalgamation as npm's better-sqlite3
// package ships it (deps/sqlite3/sqlite3.c), fetched with `npm pack` and
// built with clang for wasm32-wasi at benchmark time, then run on isle and
// under wazero's command line in the same run. The build (a minute or more
// of clang) is kept in the user's cache directory, keyed by the package's
// file name and the benchmark's source, so later runs start at once.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"isle"
)

//go:embed wasi/sqlbench.c
var sqlbenchSource []byte

// sqliteRounds is how many runs each runtime gets; the best is kept.
const sqliteRounds = 2

// sqliteFlags are what builds the amalgamation for wasm32-wasi: no threads, no
// extensions, no WAL (which needs shared memory), wasi-libc's emulations
// of mmap, getpid and process clocks, and temporary tables in memory (WASI
// has no temporary directory).
func sqliteFlags() []string {
	return []string{"--target=wasm32-wasi", "-O2", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION",
		"-DSQLITE_OMIT_WAL", "-DSQLITE_TEMP_STORE=3", "-D_WASI_EMULATED_MMAN", "-D_WASI_EMULATED_GETPID",
		"-D_WASI_EMULATED_PROCESS_CLOCKS", "-lwasi-emulated-mman", "-lwasi-emulated-getpid", "-lwasi-emulated-process-clocks"}
}

// sqliteRows measures the SQLite workload; without npm, the package or
// clang it says why on log and gives no rows.
func sqliteRows(dir, wz string, log io.Writer) ([]Row, error) {
	prog, err := sqliteWasm(dir)
	if err != nil {
		fmt.Fprintf(log, "bench wasi: no sqlite rows: %v\n", err)
		return nil, nil
	}
	runs := []struct {
		name string
		run  func(db string) (string, error)
	}{{"isle", func(db string) (string, error) {
		var out, errb bytes.Buffer
		cfg := isle.NewConfig().WithStdio(nil, &out, &errb).WithCacheDir("").WithDir(isle.Dir{Host: db, Guest: "/d"})
		st, _, err := isle.Run(context.Background(), cfg, prog, []string{"/d"})
		if err != nil {
			return "", err
		}
		if st.Status() != 0 {
			return "", fmt.Errorf("isle: sqlbench exited %d: %s", st.Status(), errb.String())
		}
		return out.String(), nil
	}}}
	if wz != "" {
		runs = append(runs, struct {
			name string
			run  func(db string) (string, error)
		}{"wazero", func(db string) (string, error) {
			var errb bytes.Buffer
			cmd := exec.Command(wz, "run", "-mount", db+":/d", prog, "/d")
			cmd.Stderr = &errb
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("wazero: %v: %s", err, errb.String())
			}
			return string(out), nil
		}})
	}
	secs := map[string]float64{}
	var rows []Row
	for _, r := range runs {
		db := filepath.Join(dir, "sqlite-"+r.name)
		if err := os.MkdirAll(db, 0o755); err != nil {
			return nil, err
		}
		best := int64(0)
		for i := 0; i < sqliteRounds; i++ {
			out, err := r.run(db)
			if err != nil {
				return nil, fmt.Errorf("sqlite: %v", err)
			}
			ns, err := reported(out, "sqlite_ns")
			if err != nil {
				return nil, fmt.Errorf("sqlite on %s: %v", r.name, err)
			}
			if best == 0 || ns < best {
				best = ns
			}
		}
		secs[r.name] = float64(best) / 1e9
		rows = append(rows, Row{r.name + "_sqlite_workload_s", secs[r.name], "s"})
	}
	if wz != "" {
		rows = append(rows, Row{"isle_over_wazero_sqlite_time", secs["isle"] / secs["wazero"], "×"})
	}
	return rows, nil
}

// sqliteWasm returns sqlbench built against the amalgamation that `npm pack
// better-sqlite3` fetches, from the cache when it was built before.
func sqliteWasm(dir string) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not installed (Debian's package npm)")
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		return "", errors.New("clang is not installed (Debian's clang, wasi-libc, lld)")
	}
	pkg := filepath.Join(dir, "npm")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command(npm, "pack", "--silent", "better-sqlite3")
	cmd.Dir = pkg
	var errb bytes.Buffer
	cmd.Stderr = &errb
	name, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack better-sqlite3: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	tgz := strings.TrimSpace(string(name))
	if i := strings.LastIndexByte(tgz, '\n'); i >= 0 {
		tgz = tgz[i+1:]
	}
	sum := sha256.Sum256(append(append([]byte(tgz), 0), append(sqlbenchSource, []byte(strings.Join(sqliteFlags(), " "))...)...))
	key := hex.EncodeToString(sum[:8])
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = dir
	}
	out := filepath.Join(cache, "isle", "bench-sqlite", key, "sqlbench.wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	src := filepath.Join(dir, "sqlite")
	if err := untarSqlite(filepath.Join(pkg, tgz), src); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "sqlbench.c"), sqlbenchSource, 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	args := append([]string{"-I", src, "-o", out + ".tmp", filepath.Join(src, "sqlbench.c"), filepath.Join(src, "sqlite3.c")}, sqliteFlags()...)
	build := exec.Command(clang, args...)
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("clang (%s): %v: %.2000s", strings.Join(args, " "), err, b)
	}
	return out, os.Rename(out+".tmp", out)
}

// untarSqlite takes deps/sqlite3/sqlite3.c and sqlite3.h out of the npm
// package at tgz into dir.
func untarSqlite(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %v", tgz, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	found := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %v", tgz, err)
		}
		base := filepath.Base(h.Name)
		if !strings.HasSuffix(filepath.ToSlash(filepath.Dir(h.Name)), "deps/sqlite3") || (base != "sqlite3.c" && base != "sqlite3.h") {
			continue
		}
		w, err := os.Create(filepath.Join(dir, base))
		if err != nil {
			return err
		}
		_, err = io.Copy(w, tr)
		w.Close()
		if err != nil {
			return err
		}
		found++
	}
	if found != 2 {
		return fmt.Errorf("%s has no deps/sqlite3/sqlite3.c and sqlite3.h", tgz)
	}
	return nil
}
