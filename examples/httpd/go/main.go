// Command httpd is a static-file web server written with Go's net/http, for
// GOOS=wasip1 GOARCH=wasm: it serves the files of a preopened directory over
// the first listener isle offers (--listen), with HTTP/1.1 keep-alive.
//
//	GOOS=wasip1 GOARCH=wasm go build -o httpd.wasm ./examples/httpd/go
//	isle run --dir ./www:/www --listen 127.0.0.1:8080 httpd.wasm /www
//
// Under isle run --instances N, every instance serves the same listener and
// says which it is in an X-Isle-Instance header.
//
// Arguments: the directory to serve (default /www) and the listener's fd
// (default: the first socket from fd 3 on, which is the first fd after the
// preopens). With HTTPD_SELFLOAD=N it serves N requests to itself over
// in-memory pipes instead, and prints how long they took (selfload.go).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	dir := "/www"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	srv := newServer(dir)
	if ok, err := selfLoadFromEnv(srv); ok {
		if err != nil {
			fmt.Fprintf(os.Stderr, "httpd: self-load: %v\n", err)
			os.Exit(1)
		}
		return
	}
	fd := firstSocket()
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "httpd: bad fd %q\n", os.Args[2])
			os.Exit(2)
		}
		fd = n
	}
	if fd < 0 {
		fmt.Fprintln(os.Stderr, "httpd: no listener (run with --listen ADDR)")
		os.Exit(2)
	}
	// Only the listener's fd becomes an *os.File: a File closes its fd
	// when it is garbage, which for a preopen would cut off the files.
	l, err := net.FileListener(os.NewFile(uintptr(fd), "listener"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "httpd: fd %d: %v\n", fd, err)
		os.Exit(1)
	}
	fmt.Printf("httpd: serving %s on fd %d\n", dir, fd)
	err = srv.Serve(l)
	fmt.Fprintf(os.Stderr, "httpd: %v\n", err)
	os.Exit(1)
}

// newServer returns the server of dir's files.
func newServer(dir string) *http.Server {
	files := http.FileServer(http.Dir(dir))
	// Under isle run --instances N, each instance says which it is.
	instance := os.Getenv("ISLE_INSTANCE")
	// A client that connects and sends nothing, or trickles its request,
	// holds one of the SIP's connections (1,024 at most, docs/net.md) until
	// these timeouts drop it (HTTPD_HEADER_TIMEOUT, a Go duration, sets the
	// first).
	headerTimeout := 30 * time.Second
	if v := os.Getenv("HTTPD_HEADER_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "httpd: HTTPD_HEADER_TIMEOUT %q: want a positive duration\n", v)
			os.Exit(2)
		}
		headerTimeout = d
	}
	return &http.Server{
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       2 * time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if instance != "" {
				w.Header().Set("X-Isle-Instance", instance)
			}
			files.ServeHTTP(w, r)
		}),
	}
}
