package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"isle"
)

// The shape of the web suite's run: wrk's baseline load (issue 13), the
// files served, and how long each server is warmed before it is measured.
const (
	webThreads   = 2
	webConns     = 32
	webDuration  = 5 * time.Second
	webWarmup    = 1 * time.Second
	webBigSize   = 1 << 20 // the large file, bytes
	webReadyWait = 30 * time.Second
)

// webServer is one server under load: its name in the rows, its address,
// the unit note that says how it ran, and how to stop it.
type webServer struct {
	name string
	addr string
	note string
	stop func()
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	reqPerS  float64
	p50, p99 float64 // milliseconds
	non2xx   int64
	errors   string // wrk's "Socket errors" line, if any
}

// Web measures static-file serving under wrk (-t2 -c32 -d5s --latency): the
// C web server of examples/httpd/c on isle (every core booted, one server
// SIP on each core sharing the listener, and one server SIP alone), nginx with as many workers as the machine's CPUs, and, when the
// source tree has examples/httpd/go, Go's net/http server on isle and built
// natively, pinned to as many CPUs with taskset. Each serves the same two
// files, a small page (examples/httpd/www/index.html, about 5.5 KB) and 1 MiB
// of bytes, from the loopback interface, all in one run. wrk and nginx are
// installed with apt-get when missing.
func Web(log io.Writer) ([]Row, error) {
	root, err := sourceRoot()
	if err != nil {
		return nil, err
	}
	wrk, err := needTool(log, "wrk", "wrk")
	if err != nil {
		return nil, err
	}
	nginx, err := needTool(log, "nginx", "nginx")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "isle-bench-web-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	site, err := webSite(root, dir)
	if err != nil {
		return nil, err
	}
	cpus, err := affinityCPUs()
	if err != nil {
		return nil, err
	}
	w := webRun{ctx: context.Background(), log: log, root: root, dir: dir, site: site, nginx: nginx, cpus: cpus}
	targets, err := w.targets()
	if err != nil {
		return nil, err
	}
	got := map[string]map[string]wrkResult{} // server → file → result
	notes := map[string]string{}
	for _, tg := range targets {
		srv, err := tg.start()
		var res map[string]wrkResult
		if err == nil {
			res, err = loadServer(log, wrk, srv)
			srv.stop()
		}
		switch {
		case err != nil && tg.optional:
			logf(log, "web: %s: %v (no %s rows)", tg.name, err, tg.name)
		case err != nil:
			return nil, fmt.Errorf("%s: %v", tg.name, err)
		default:
			got[tg.name], notes[tg.name] = res, srv.note
		}
	}
	rows := webRows(got, notes)
	if w.goWasm != "" {
		rows = append(rows, goSelfLoadRows(log, dir, w.goWasm, w.goNative, site, cpus[0], selfLoadRequests, selfLoadRounds)...)
	}
	return rows, nil
}

// webRun is one run of the web suite: where its files are and the CPUs it
// may use; targets fills in the Go server's builds.
type webRun struct {
	ctx              context.Context
	log              io.Writer
	root, dir, site  string
	nginx            string
	cpus             []int
	goWasm, goNative string // the Go server's builds, when the tree has it
}

// webTarget is a server the suite measures. One that is optional may fail
// without failing the suite: its rows are left out and the log says why.
type webTarget struct {
	name     string
	start    func() (webServer, error)
	optional bool
}

// targets lists the servers: isle's C httpd on every core and in one SIP,
// nginx, and the Go server on isle and natively when the tree has it.
func (w *webRun) targets() ([]webTarget, error) {
	n := len(w.cpus)
	isleOf := func(name, wasm string, sips int) func() (webServer, error) {
		return func() (webServer, error) { return isleServer(w.ctx, name, wasm, w.site, n, sips) }
	}
	cWasm := filepath.Join(w.root, "examples", "httpd", "c", "httpd.wasm")
	targets := []webTarget{
		{"isle_httpd", isleOf("isle_httpd", cWasm, n), false},
		{"isle_httpd_1sip", isleOf("isle_httpd_1sip", cWasm, 1), false},
		{"nginx", func() (webServer, error) { return nginxServer(w.nginx, w.dir, w.site, n) }, false},
	}
	if _, err := os.Stat(filepath.Join(w.root, "examples", "httpd", "go")); err != nil {
		logf(w.log, "web: no examples/httpd/go in the source tree: no go_ rows")
		return targets, nil
	}
	wasm, native, err := buildGoServer(w.root, w.dir)
	if err != nil {
		return nil, err
	}
	w.goWasm, w.goNative = wasm, native
	return append(targets,
		webTarget{"go_isle", isleOf("go_isle", wasm, n), true},
		webTarget{"go_isle_1sip", isleOf("go_isle_1sip", wasm, 1), true},
		webTarget{"go_native", func() (webServer, error) { return nativeServer(native, w.site, w.cpus) }, true}), nil
}

// loadServer warms srv up, then measures the small page and the large file.
func loadServer(log io.Writer, wrk string, srv webServer) (map[string]wrkResult, error) {
	files := map[string]string{"small": "/", "1mib": "/big.bin"}
	res := map[string]wrkResult{}
	if _, err := runWrk(wrk, "http://"+srv.addr+files["small"], webWarmup); err != nil {
		return nil, err
	}
	for _, f := range []string{"small", "1mib"} {
		r, err := runWrk(wrk, "http://"+srv.addr+files[f], webDuration)
		if err != nil {
			return nil, err
		}
		if r.non2xx > 0 {
			return nil, fmt.Errorf("%s: %d responses were not 2xx", files[f], r.non2xx)
		}
		if r.errors != "" {
			logf(log, "web: %s %s: %s", srv.name, f, r.errors)
		}
		logf(log, "web: %-16s %-5s %8.0f req/s  p50 %.3g ms  p99 %.3g ms", srv.name, f, r.reqPerS, r.p50, r.p99)
		res[f] = r
	}
	return res, nil
}

// webRows turns the results into rows: each server's figures, then the
// ratios the issue sets targets for.
func webRows(got map[string]map[string]wrkResult, notes map[string]string) []Row {
	var rows []Row
	mbps := func(r wrkResult) float64 { return round3(r.reqPerS * webBigSize / 1e6) }
	for _, name := range []string{"isle_httpd", "isle_httpd_1sip", "nginx", "go_isle", "go_isle_1sip", "go_native"} {
		res, ok := got[name]
		if !ok {
			continue
		}
		s, b := res["small"], res["1mib"]
		rows = append(rows,
			Row{name + "_small_req_per_s", round3(s.reqPerS), "req/s (" + notes[name] + ")"},
			Row{name + "_small_p50_ms", round3(s.p50), "ms"},
			Row{name + "_small_p99_ms", round3(s.p99), "ms"},
			Row{name + "_1mib_mb_per_s", mbps(b), "MB/s"},
			Row{name + "_1mib_p50_ms", round3(b.p50), "ms"},
			Row{name + "_1mib_p99_ms", round3(b.p99), "ms"},
		)
	}
	ratio := func(name, a, b, file, unit string) {
		x, y := got[a][file], got[b][file]
		if x.reqPerS == 0 || y.reqPerS == 0 {
			return
		}
		rows = append(rows, Row{name, round3(x.reqPerS / y.reqPerS), unit})
	}
	ratio("isle_httpd_over_nginx_small", "isle_httpd", "nginx", "small", "x (target >= 0.7)")
	ratio("isle_httpd_over_nginx_1mib", "isle_httpd", "nginx", "1mib", "x (target >= 0.5)")
	ratio("isle_httpd_1sip_over_nginx_small", "isle_httpd_1sip", "nginx", "small", "x")
	ratio("go_isle_over_native_small", "go_isle", "go_native", "small", "x (target >= 0.5)")
	ratio("go_isle_over_native_1mib", "go_isle", "go_native", "1mib", "x")
	ratio("go_isle_1sip_over_native_small", "go_isle_1sip", "go_native", "small", "x")
	return rows
}

// webSite writes the files served into dir/www: the example's small page
// and webBigSize bytes (a fixed pattern, so every server sends the same),
// readable by nginx's workers, which run as nobody.
func webSite(root, dir string) (string, error) {
	site := filepath.Join(dir, "www")
	if err := os.Mkdir(site, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	index, err := os.ReadFile(filepath.Join(root, "examples", "httpd", "www", "index.html"))
	if err != nil {
		return "", err
	}
	big := make([]byte, webBigSize)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	// page.html: the small page under a name of its own, which the Go file
	// server serves without opening the directory (the self-load's _file
	// rows).
	for name, b := range map[string][]byte{"index.html": index, "page.html": index, "big.bin": big} {
		if err := os.WriteFile(filepath.Join(site, name), b, 0o644); err != nil {
			return "", err
		}
	}
	return site, nil
}

// isleServer boots a machine with cores cores, listening on a free loopback
// port, and runs instances SIPs of wasm serving site as /www, instance i on
// core i mod cores, all offered the same listener (as isle run --instances
// does): a connection goes to the instance whose accept takes it.
func isleServer(ctx context.Context, name, wasm, site string, cores, instances int) (webServer, error) {
	var out lockedBuffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(cores).WithListen("127.0.0.1:0").
		WithDir(isle.Dir{Host: site, Guest: "/www"}).WithStdio(nil, &out, &out).WithCacheDir(""))
	if err != nil {
		return webServer{}, err
	}
	stop := func() { m.Stop(ctx) }
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		stop()
		return webServer{}, err
	}
	exited := make(chan struct{}) // closed when an instance ends
	var once sync.Once
	for i := 0; i < instances; i++ {
		p, err := m.SpawnOn(prog, []string{"httpd", "/www"}, i%cores)
		if err != nil {
			stop()
			return webServer{}, err
		}
		go func() { p.Wait(); once.Do(func() { close(exited) }) }()
	}
	addr := m.ListenAddrs()[0]
	if err := waitHTTP(addr, closed(exited)); err != nil {
		stop()
		return webServer{}, fmt.Errorf("%v; output: %s", err, out.String())
	}
	note := fmt.Sprintf("%d SIPs, one per core", instances)
	if instances == 1 {
		note = fmt.Sprintf("1 SIP, %d cores", cores)
	}
	return webServer{name: name, addr: addr, note: note, stop: stop}, nil
}

// nginxConf is the configuration the suite starts nginx with: %[1]d worker
// processes, its files under %[2]s, serving %[3]s on %[4]s.
const nginxConf = `worker_processes %[1]d;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	types { text/html html; application/octet-stream bin; }
	server {
		listen %[4]s;
		root %[3]s;
	}
}
`

// nginxServer starts nginx with workers worker processes on a free
// loopback port, its configuration, pid file and temporary files in a
// directory of its own under dir.
func nginxServer(nginx, dir, site string, workers int) (webServer, error) {
	nd := filepath.Join(dir, "nginx")
	if err := os.Mkdir(nd, 0o755); err != nil {
		return webServer{}, err
	}
	addr, err := freePort()
	if err != nil {
		return webServer{}, err
	}
	conf := filepath.Join(nd, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, workers, nd, site, addr), 0o644); err != nil {
		return webServer{}, err
	}
	cmd := exec.Command(nginx, "-p", nd, "-e", filepath.Join(nd, "error.log"), "-c", conf)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	srv, err := startProcess(cmd, "nginx", addr, func() string {
		log, _ := os.ReadFile(filepath.Join(nd, "error.log"))
		return out.String() + string(log)
	})
	srv.note = fmt.Sprintf("%d workers", workers)
	return srv, err
}

// buildGoServer builds examples/httpd/go for wasip1 and for this host.
func buildGoServer(root, dir string) (wasm, native string, err error) {
	wasm, native = filepath.Join(dir, "gohttpd.wasm"), filepath.Join(dir, "gohttpd")
	for _, b := range []struct {
		out string
		env []string
	}{{wasm, []string{"GOOS=wasip1", "GOARCH=wasm"}}, {native, nil}} {
		cmd := exec.Command("go", "build", "-o", b.out, "./examples/httpd/go")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build examples/httpd/go %v: %v: %s", b.env, err, strings.TrimSpace(string(out)))
		}
	}
	return wasm, native, nil
}

// nativeServer runs the Go server built for the host, pinned with taskset
// to cpus, on a loopback listener it inherits as fd 3 (its arguments: the
// directory and the listener's fd, as on isle).
func nativeServer(bin, site string, cpus []int) (webServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return webServer{}, err
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return webServer{}, err
	}
	defer f.Close()
	var list []string
	for _, c := range cpus {
		list = append(list, strconv.Itoa(c))
	}
	args := []string{bin, site, "3"}
	note := fmt.Sprintf("native, %d CPUs", len(cpus))
	if ts, err := exec.LookPath("taskset"); err == nil {
		args = append([]string{ts, "-c", strings.Join(list, ",")}, args...)
		note = fmt.Sprintf("native, pinned to %d CPUs", len(cpus))
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.ExtraFiles = []*os.File{f}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	srv, err := startProcess(cmd, "go_native", ln.Addr().String(), out.String)
	srv.note = note
	return srv, err
}

// startProcess starts cmd, a server for addr, and waits until it answers.
func startProcess(cmd *exec.Cmd, name, addr string, output func() string) (webServer, error) {
	if err := cmd.Start(); err != nil {
		return webServer{}, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitHTTP(addr, closed(exited)); err != nil {
		stop()
		return webServer{}, fmt.Errorf("%v; output: %s", err, output())
	}
	return webServer{name: name, addr: addr, stop: stop}, nil
}

// waitHTTP waits until a GET of / (index.html) on addr is answered, or exited
// reports that the server ended, or webReadyWait passes.
func waitHTTP(addr string, exited func() bool) error {
	deadline := time.Now().Add(webReadyWait)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "HTTP/1.1 200") {
				return nil
			}
		}
		if exited() {
			return fmt.Errorf("the server ended before it served %s", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s after %v", addr, webReadyWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closed returns a function that reports whether ch is closed.
func closed(ch <-chan struct{}) func() bool {
	return func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// lockedBuffer collects a server's output, written from other goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort returns a loopback address no one listens on now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// affinityCPUs lists the CPUs this process may run on.
func affinityCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// needTool returns the path of cmd, installing the Debian package pkg with
// apt-get (through sudo unless root) when it is missing, as scripts/test.sh
// does for clang.
func needTool(log io.Writer, cmd, pkg string) (string, error) {
	find := func() (string, error) {
		if p, err := exec.LookPath(cmd); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
			if p := filepath.Join(d, cmd); isExecutable(p) {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found", cmd)
	}
	if p, err := find(); err == nil {
		return p, nil
	}
	logf(log, "web: %s missing: apt-get install %s", cmd, pkg)
	var sudo []string
	if os.Geteuid() != 0 {
		sudo = []string{"sudo"}
	}
	for _, args := range [][]string{{"apt-get", "update", "-q"}, {"apt-get", "install", "-y", "-q", pkg}} {
		c := exec.Command(append(sudo, args...)[0], append(sudo, args...)[1:]...)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := c.CombinedOutput(); err != nil {
			return "", fmt.Errorf("installing %s: %s: %v: %s", pkg, strings.Join(args, " "), err, lastLine(out))
		}
	}
	return find()
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// runWrk runs wrk's baseline load against url for d.
func runWrk(wrk, url string, d time.Duration) (wrkResult, error) {
	cmd := exec.Command(wrk, "-t"+strconv.Itoa(webThreads), "-c"+strconv.Itoa(webConns),
		"-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v: %s", url, err, strings.TrimSpace(string(out)))
	}
	return parseWrk(string(out))
}

var (
	wrkReqRe     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkLatencyRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\b`)
	wrkNon2xxRe  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkErrorsRe  = regexp.MustCompile(`(?m)^\s*Socket errors:.*$`)
)

// parseWrk reads the figures out of wrk --latency's report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkReqRe.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec: %q", out)
	}
	r.reqPerS, _ = strconv.ParseFloat(m[1], 64)
	scale := map[string]float64{"us": 1e-3, "ms": 1, "s": 1e3}
	seen := 0
	for _, m := range wrkLatencyRe.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "50" {
			r.p50 = v * scale[m[3]]
		} else {
			r.p99 = v * scale[m[3]]
		}
		seen++
	}
	if seen != 2 {
		return r, fmt.Errorf("wrk printed no latency distribution (--latency): %q", out)
	}
	if m := wrkNon2xxRe.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	r.errors = strings.TrimSpace(wrkErrorsRe.FindString(out))
	return r, nil
}
