package main

// The Go net/http server on isle, hit by Go's net/http client with 32
// concurrent keep-alive connections, and by curl when it is installed.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// output collects the machine's console; the console service writes from
// its own goroutine.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// site writes the files served in the tests: a small page and a larger
// one, with contents that tell them apart.
func site(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"page.html": []byte(strings.Repeat("<p>hello from isle</p>\n", 240)),
		"big.bin":   bytes.Repeat([]byte("0123456789abcdef"), 64<<10), // 1 MiB
		"a/b.txt":   []byte("nested\n"),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// serve boots a machine of cores cores listening on a free port, runs
// instances instances of the server on it (none: the caller spawns) and
// returns the address; the machine stops at the end of the test.
func serve(t *testing.T, cores, instances int, dir string, cfg func(isle.Config) isle.Config) (string, *isle.Machine, *output) {
	t.Helper()
	wasm := testprog.Go(t, "./examples/httpd/go")
	ctx := context.Background()
	out := &output{}
	c := isle.NewConfig().WithCacheDir(filepath.Join(os.TempDir(), "isle-test-cache")).
		WithCores(cores).WithOversubscribe(true).WithListen("127.0.0.1:0").
		WithDir(isle.Dir{Host: dir, Guest: "/www"}).WithStdio(nil, out, out)
	if cfg != nil {
		c = cfg(c)
	}
	m, err := isle.Boot(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if instances > 0 {
		if _, err := m.SpawnInstances(prog, []string{"httpd", "/www"}, instances); err != nil {
			t.Fatal(err)
		}
	}
	return m.ListenAddrs()[0], m, out
}

// TestNetHTTPKeepAlive: 1,000 requests over 32 concurrent keep-alive
// connections, every response's status and body checked, and the
// connections reused (at most 32 accepted).
func TestNetHTTPKeepAlive(t *testing.T) {
	dir, files := site(t)
	addr, _, out := serve(t, 2, 1, dir, nil)
	const conns, requests = 32, 1000
	var dials atomic.Int32
	tr := &http.Transport{
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, a)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	paths := []string{"page.html", "a/b.txt", "big.bin", "missing"}
	var next atomic.Int32
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				if err := get(client, addr, paths[i%len(paths)], files); err != nil {
					errs <- fmt.Errorf("request %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
	if d := dials.Load(); d > conns {
		t.Errorf("%d connections dialled for %d requests: keep-alive not kept", d, requests)
	}
}

// get fetches path and checks the answer against files (absent: 404).
func get(client *http.Client, addr, path string, files map[string][]byte) error {
	resp, err := client.Get("http://" + addr + "/" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: body: %v", path, err)
	}
	want, ok := files[path]
	switch {
	case !ok && resp.StatusCode != http.StatusNotFound:
		return fmt.Errorf("%s: status %d, want 404", path, resp.StatusCode)
	case !ok:
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	case !bytes.Equal(body, want):
		return fmt.Errorf("%s: %d bytes, want %d", path, len(body), len(want))
	case resp.ContentLength != int64(len(want)):
		return fmt.Errorf("%s: Content-Length %d, want %d", path, resp.ContentLength, len(want))
	}
	return nil
}

// TestNetHTTPCurl: curl, when installed, gets a page and a 404.
func TestNetHTTPCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	dir, files := site(t)
	addr, _, out := serve(t, 1, 1, dir, nil)
	b, err := exec.Command(curl, "-sS", "-m", "20", "http://"+addr+"/page.html").Output()
	if err != nil || !bytes.Equal(b, files["page.html"]) {
		t.Fatalf("curl: %v, %d bytes; output:\n%s", err, len(b), out.String())
	}
	code, err := exec.Command(curl, "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "http://"+addr+"/nope").Output()
	if err != nil || string(code) != "404" {
		t.Fatalf("curl /nope: %v, %q", err, code)
	}
}

// TestInstancesShareListener: four instances of the server on four cores,
// all offered one listener; 200 connections, one request each, are served
// (every answer checked) by more than one instance.
func TestInstancesShareListener(t *testing.T) {
	dir, files := site(t)
	const instances, requests = 4, 200
	addr, _, out := serve(t, instances, instances, dir, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	served := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := 0; i < requests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + addr + "/a/b.txt")
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(body, files["a/b.txt"]) {
				errs <- fmt.Errorf("request %d: %q, %v", i, body, err)
				return
			}
			mu.Lock()
			served[resp.Header.Get("X-Isle-Instance")]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
	for k := range served {
		if n, err := fmt.Sscan(k, new(int)); n != 1 || err != nil {
			t.Fatalf("an answer from instance %q", k)
		}
	}
	if len(served) < 2 {
		t.Fatalf("one instance served every connection: %v", served)
	}
	t.Logf("connections served by each instance: %v", served)
}
