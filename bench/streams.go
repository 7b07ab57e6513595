package bench

// Console rows of the wasi suite: a cat of 100 MB through pipes (stdin to
// stdout) and 20,000 small writes to stdout through a pipe, isle beside
// wazero's command line in the same run. The program (bench/wasi/streams.c)
// times itself and says so on stderr.

import (
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

// streamsWasm is bench/wasi/streams.c built with clang and wasi-libc (the
// command is in the source).
//
//go:embed wasi/streams.wasm
var streamsWasm []byte

// The shape of the console rows.
const (
	catBytes   = 100 << 20 // through cat
	linesN     = 20_000    // small console writes
	streamsRun = 3         // runs per runtime; the best is kept
)

// streamRun runs the program with stdin and stdout as given, its stderr
// returned.
type streamRun func(args []string, stdin io.Reader, stdout io.Writer) (string, error)

// isleStreams runs prog on isle, in this process.
func isleStreams(prog string) streamRun {
	return func(args []string, stdin io.Reader, stdout io.Writer) (string, error) {
		var errb bytes.Buffer
		cfg := isle.NewConfig().WithStdio(stdin, stdout, &errb).WithCacheDir("")
		st, _, err := isle.Run(context.Background(), cfg, prog, args)
		if err != nil {
			return "", err
		}
		if st.Status() != 0 {
			return "", fmt.Errorf("isle: streams exited %d: %s", st.Status(), errb.String())
		}
		return errb.String(), nil
	}
}

// wazeroStreams runs prog under wazero's command line.
func wazeroStreams(wz, prog string) streamRun {
	return func(args []string, stdin io.Reader, stdout io.Writer) (string, error) {
		var errb bytes.Buffer
		cmd := exec.Command(wz, append([]string{"run", prog}, args...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("wazero: %v: %s", err, errb.String())
		}
		return errb.String(), nil
	}
}

// throughPipes runs run with stdin a pipe fed feed bytes and stdout a pipe
// drained, as a shell's `producer | prog | consumer` would; it returns the
// nanoseconds the program reported under key and the bytes that came out.
func throughPipes(run streamRun, args []string, feed int64, key string) (int64, int64, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return 0, 0, err
	}
	go func() {
		chunk := make([]byte, 64<<10)
		for left := feed; left > 0; left -= int64(len(chunk)) {
			if _, err := inW.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
				break
			}
		}
		inW.Close()
	}()
	got := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, outR)
		got <- n
	}()
	stderr, err := run(args, inR, outW)
	inR.Close()
	outW.Close()
	n := <-got
	outR.Close()
	if err != nil {
		return 0, 0, err
	}
	ns, err := reported(stderr, key)
	return ns, n, err
}

// reported finds "key N" in a program's output.
func reported(out, key string) (int64, error) {
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("the program did not report %s (it said %q)", key, out)
}

// streamRows measures cat and lines on each runtime and adds the ratios.
func streamRows(dir, wz string, log io.Writer) ([]Row, error) {
	prog := filepath.Join(dir, "streams.wasm")
	if err := os.WriteFile(prog, streamsWasm, 0o644); err != nil {
		return nil, err
	}
	runs := []struct {
		name string
		run  streamRun
	}{{"isle", isleStreams(prog)}}
	if wz != "" {
		runs = append(runs, struct {
			name string
			run  streamRun
		}{"wazero", wazeroStreams(wz, prog)})
	}
	cat, lines := map[string]float64{}, map[string]float64{}
	var rows []Row
	for _, r := range runs {
		bestCat, bestLines := int64(0), int64(0)
		for i := 0; i < streamsRun; i++ {
			ns, n, err := throughPipes(r.run, []string{"cat"}, catBytes, "cat_ns")
			if err != nil {
				return nil, fmt.Errorf("%s cat: %v", r.name, err)
			}
			if n != catBytes {
				return nil, fmt.Errorf("%s cat: %d bytes came out of %d", r.name, n, catBytes)
			}
			if bestCat == 0 || ns < bestCat {
				bestCat = ns
			}
			ns, _, err = throughPipes(r.run, []string{"lines", strconv.Itoa(linesN)}, 0, "lines_ns")
			if err != nil {
				return nil, fmt.Errorf("%s lines: %v", r.name, err)
			}
			if bestLines == 0 || ns < bestLines {
				bestLines = ns
			}
		}
		cat[r.name] = float64(catBytes) / 1e6 / (float64(bestCat) / 1e9)
		lines[r.name] = float64(bestLines) / 1e6
		rows = append(rows,
			Row{r.name + "_cat_100mb_mb_per_s", cat[r.name], "MB/s"},
			Row{r.name + "_console_20k_writes_ms", lines[r.name], "ms"})
	}
	if wz != "" {
		rows = append(rows,
			Row{"isle_over_wazero_cat_throughput", cat["isle"] / cat["wazero"], "×"},
			Row{"isle_over_wazero_console_writes_time", lines["isle"] / lines["wazero"], "×"})
	} else {
		fmt.Fprintln(log, "bench wasi: no wazero, no console ratios")
	}
	return rows, nil
}
