package bench

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wrkReport is wrk 4.1.0's --latency report, as Debian's wrk prints it.
const wrkReport = `Running 3s test @ http://127.0.0.1:18080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   155.58ms  359.85ms   1.87s    88.03%
    Req/Sec   834.34    411.55     2.30k    85.71%
  Latency Distribution
     50%  860.00us
     75%   44.90ms
     90%  615.21ms
     99%    1.55s 
  3058 requests in 3.03s, 16.35MB read
  Socket errors: connect 0, read 0, write 0, timeout 19
  Non-2xx or 3xx responses: 7
Requests/sec:   1008.65
Transfer/sec:      5.39MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if r.reqPerS != 1008.65 || r.p50 != 0.86 || r.p99 != 1550 || r.non2xx != 7 ||
		r.errors != "Socket errors: connect 0, read 0, write 0, timeout 19" {
		t.Errorf("parsed %+v", r)
	}
	for _, cut := range []string{"Requests/sec", "99%"} {
		bad := strings.Replace(wrkReport, cut, "x", 1)
		if _, err := parseWrk(bad); err == nil {
			t.Errorf("a report without %s parsed", cut)
		}
	}
}

// TestWebRows: the rows the issue names, and the ratios between servers
// measured in the same run; no Go rows without the Go server.
func TestWebRows(t *testing.T) {
	got := map[string]map[string]wrkResult{
		"isle_httpd": {"small": {reqPerS: 700, p50: 1, p99: 2}, "1mib": {reqPerS: 100}},
		"nginx":      {"small": {reqPerS: 1000, p50: 0.5, p99: 1}, "1mib": {reqPerS: 400}},
	}
	rows := webRows(got, map[string]string{"isle_httpd": "1 SIP, 2 cores", "nginx": "2 workers"})
	byName := map[string]Row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	for name, want := range map[string]float64{
		"isle_httpd_small_req_per_s": 700, "nginx_small_req_per_s": 1000, "isle_httpd_small_p99_ms": 2,
		"nginx_small_p99_ms": 1, "isle_httpd_1mib_mb_per_s": 104.858, "nginx_1mib_mb_per_s": 419.43,
		"isle_httpd_over_nginx_small": 0.7, "isle_httpd_over_nginx_1mib": 0.25,
	} {
		if r, ok := byName[name]; !ok || r.Value != want {
			t.Errorf("%s = %+v, want %v", name, r, want)
		}
	}
	if r := byName["isle_httpd_small_req_per_s"]; r.Unit != "req/s (1 SIP, 2 cores)" {
		t.Errorf("unit %q", r.Unit)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "go_") {
			t.Errorf("a Go row without the Go server: %+v", r)
		}
	}
}

// TestWebServers starts the suite's servers as it does, the C server on
// isle and nginx, and fetches both files from each: the bytes of the site,
// so that every server is measured serving the same thing.
func TestWebServers(t *testing.T) {
	root, err := sourceRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir, whose parent only root may enter: nginx's workers
	// run as nobody.
	dir, err := os.MkdirTemp("", "isle-bench-web-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	site, err := webSite(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]func() (webServer, error){
		"isle_httpd": func() (webServer, error) {
			return isleServer(context.Background(), "isle_httpd", filepath.Join(root, "examples", "httpd", "c", "httpd.wasm"), site, 2, 2)
		},
	}
	if nginx, err := exec.LookPath("nginx"); err == nil || isExecutable("/usr/sbin/nginx") {
		if err != nil {
			nginx = "/usr/sbin/nginx"
		}
		starts["nginx"] = func() (webServer, error) { return nginxServer(nginx, dir, site, 2) }
	} else {
		t.Log("nginx not installed: the isle server alone (isle bench web installs nginx)")
	}
	for name, start := range starts {
		srv, err := start()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for path, file := range map[string]string{"/": "index.html", "/big.bin": "big.bin"} {
			want, _ := os.ReadFile(filepath.Join(site, file))
			resp, err := http.Get("http://" + srv.addr + path)
			if err != nil {
				t.Fatalf("%s: GET %s: %v", name, path, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) {
				t.Errorf("%s: GET %s: status %d, %d bytes (want %d), %v", name, path, resp.StatusCode, len(got), len(want), err)
			}
		}
		srv.stop()
	}
}

func TestParseSelfLoad(t *testing.T) {
	d, err := parseSelfLoad("httpd: x\nselfload: 50 requests in 1234567 ns\n", 50)
	if err != nil || d != 1234567 {
		t.Fatalf("parsed %v, %v", d, err)
	}
	for _, bad := range []string{"", "selfload: 49 requests in 5 ns\n", "selfload: 50 requests in 0 ns\n", "selfload: 50 requests\n"} {
		if _, err := parseSelfLoad(bad, 50); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestGoSelfLoadRows runs the self-load of examples/httpd/go, small, under
// each runtime the suite compares (wazero when it is in PATH or can be
// installed), for the page as "/" and as a file of its own, and checks that
// every runtime gave its rows and the ratios come from them.
func TestGoSelfLoadRows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Go server twice")
	}
	root, err := sourceRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	site, err := webSite(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	wasm, native, err := buildGoServer(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rows := goSelfLoadRows(&log, dir, wasm, native, site, 0, 40, 1)
	byName := map[string]Row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	names := []string{"native", "isle"}
	if _, err := wazeroBinary(dir); err == nil {
		names = append(names, "wazero")
		r := byName["go_selfload_isle_over_wazero"]
		want := round3(byName["go_selfload_isle_req_per_s"].Value / byName["go_selfload_wazero_req_per_s"].Value)
		if math.Abs(r.Value-want) > 0.002 {
			t.Errorf("isle over wazero %v, want about %v", r.Value, want)
		}
	}
	for _, n := range names {
		for _, suffix := range []string{"", "_file"} {
			if r, ok := byName["go_selfload_"+n+suffix+"_req_per_s"]; !ok || r.Value <= 0 {
				t.Errorf("no go_selfload_%s%s row: %+v (log: %s)", n, suffix, rows, log.String())
			}
		}
	}
}
