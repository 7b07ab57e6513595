package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"isle"
)

// fileioWasm is bench/wasi/fileio.c built with clang and wasi-libc (the
// command is in the source); committed so that the suite needs no compiler.
//
//go:embed wasi/fileio.wasm
var fileioWasm []byte

// The shape of the wasi suite's run.
const (
	wasiMB     = 64   // MiB written, then read back
	wasiSmallN = 2000 // open, read 4 KiB, close
	wasiRounds = 3    // runs per runtime; the best is kept
)

// WASI measures file I/O of one WASI program (bench/wasi/fileio.c) on isle,
// whose small file calls are served on the core and the rest by the
// file-system service, and under
// wazero's command line (wazero v1.12.0 in PATH; `go install
// github.com/tetratelabs/wazero/cmd/wazero@v1.12.0`), which makes the same
// calls directly on the host, in the same run. The program times itself, so
// start-up and compilation are not counted.
func WASI(log io.Writer) ([]Row, error) {
	dir, err := os.MkdirTemp("", "isle-bench-wasi-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	prog := filepath.Join(dir, "fileio.wasm")
	if err := os.WriteFile(prog, fileioWasm, 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	args := []string{"/d", strconv.Itoa(wasiMB), strconv.Itoa(wasiSmallN)}
	runs := []fileioRun{{"isle", func() (string, error) { return fileioOnIsle(data, prog, args) }}}
	wz, werr := wazeroBinary(dir)
	if werr == nil {
		runs = append(runs, fileioRun{"wazero", func() (string, error) { return fileioOnWazero(wz, data, prog, args) }})
	} else {
		wz = ""
		fmt.Fprintf(log, "bench wasi: no wazero_ rows: %v\n", werr)
	}
	var rows []Row
	for _, r := range runs {
		more, err := r.rows()
		if err != nil {
			return nil, err
		}
		rows = append(rows, more...)
	}
	more, err := streamRows(dir, wz, log)
	if err != nil {
		return nil, err
	}
	rows = append(rows, more...)
	more, err = sqliteRows(dir, wz, log)
	if err != nil {
		return nil, err
	}
	return append(rows, more...), nil
}

// A fileioRun runs bench/wasi/fileio.c once under one runtime and returns
// what it printed.
type fileioRun struct {
	name string
	run  func() (string, error)
}

// rows runs fileio wasiRounds times and returns the rows of its best
// times: read and write rates and the small files' open+read+close.
func (r fileioRun) rows() ([]Row, error) {
	best := map[string]int64{}
	for i := 0; i < wasiRounds; i++ {
		out, err := r.run()
		if err != nil {
			return nil, err
		}
		got, err := parseFileio(out)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", r.name, err)
		}
		for k, v := range got {
			if b, ok := best[k]; !ok || v < b {
				best[k] = v
			}
		}
	}
	mb := float64(wasiMB << 20)
	return []Row{
		{r.name + "_file_read_mb_per_s", mb / 1e6 / (float64(best["read_ns"]) / 1e9), "MB/s"},
		{r.name + "_file_write_mb_per_s", mb / 1e6 / (float64(best["write_ns"]) / 1e9), "MB/s"},
		{r.name + "_small_file_open_read_close_us", float64(best["small_ns"]) / wasiSmallN / 1e3, "us"},
	}, nil
}

// fileioOnIsle runs fileio on isle with data preopened as /d.
func fileioOnIsle(data, prog string, args []string) (string, error) {
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithStdio(nil, &out, &errb).WithCacheDir("").
		WithDir(isle.Dir{Host: data, Guest: "/d"})
	st, _, err := isle.Run(context.Background(), cfg, prog, args)
	if err != nil {
		return "", err
	}
	if st.Status() != 0 {
		return "", fmt.Errorf("isle: fileio exited %d: %s", st.Status(), errb.String())
	}
	return out.String(), nil
}

// fileioOnWazero runs fileio under wazero's command line wz, with data
// mounted as /d.
func fileioOnWazero(wz, data, prog string, args []string) (string, error) {
	cmd := exec.Command(wz, append([]string{"run", "-mount", data + ":/d", prog}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("wazero: %v: %s", err, errb.String())
	}
	return string(out), nil
}

// parseFileio reads fileio's "name value" lines.
func parseFileio(out string) (map[string]int64, error) {
	got := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("fileio printed %q", sc.Text())
		}
		got[k] = n
	}
	for _, k := range []string{"write_ns", "read_ns", "small_ns"} {
		if got[k] <= 0 {
			return nil, fmt.Errorf("fileio did not print %s (output %q)", k, out)
		}
	}
	return got, nil
}
