package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// TestSelfLoadNative: the self-load serves its requests over pipes in this
// process, and a missing file is an error, not a rate.
func TestSelfLoadNative(t *testing.T) {
	dir, _ := site(t)
	if d, err := selfLoad(newServer(dir), "/page.html", 50); err != nil || d <= 0 {
		t.Fatalf("selfLoad: %v, %v", d, err)
	}
	if _, err := selfLoad(newServer(dir), "/missing", 5); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("selfLoad of a missing file: %v, want a 404 error", err)
	}
}

// TestSelfLoadOnIsle: HTTPD_SELFLOAD runs the same module without a
// listener, on isle, and prints its line; a bad count is one line on
// stderr and a failed exit.
func TestSelfLoadOnIsle(t *testing.T) {
	wasm := testprog.Go(t, "./examples/httpd/go")
	dir, _ := site(t)
	run := func(env ...string) (int, string, string) {
		out, errb := &output{}, &output{}
		c := isle.NewConfig().WithCacheDir(filepath.Join(os.TempDir(), "isle-test-cache")).
			WithCores(1).WithDir(isle.Dir{Host: dir, Guest: "/www"}).WithStdio(nil, out, errb)
		for _, kv := range env {
			c = c.WithEnv(kv)
		}
		st, _, err := isle.Run(context.Background(), c, wasm, []string{"/www"})
		if err != nil {
			t.Fatal(err)
		}
		return st.Status(), out.String(), errb.String()
	}
	code, out, errs := run("HTTPD_SELFLOAD=100", "HTTPD_SELFLOAD_PATH=/page.html")
	if code != 0 || !regexp.MustCompile(`^selfload: 100 requests in [1-9][0-9]* ns\n$`).MatchString(out) {
		t.Fatalf("self-load on isle: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = run("HTTPD_SELFLOAD=many")
	if code == 0 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "HTTPD_SELFLOAD") {
		t.Fatalf("bad HTTPD_SELFLOAD: exit %d, stdout %q, stderr %q; want a failed exit and one line", code, out, errs)
	}
}
