package main

// Self-load: the server's own compute, measured without sockets.
//
// With HTTPD_SELFLOAD=N the program serves N requests for HTTPD_SELFLOAD_PATH
// (default "/") to itself, from selfLoadConns keep-alive clients of Go's
// net/http over in-memory pipes (net.Pipe), and prints
//
//	selfload: N requests in NS ns
//
// then exits. No socket and no poll_oneoff is involved (net.Pipe is
// goroutines and channels), so what it measures is the Go code of the
// server, the client and the file server, and the file calls the file server
// makes, under whatever runs the module: native, wazero's command line or
// isle. `isle bench web` runs it under all three (the go_selfload_* rows): the
// same module, so that docs/web.md can say how far isle is from its runtime
// and how far the runtime is from native.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// The self-load's shape: its clients, and the requests made before the clock
// starts (the first requests grow the heap and fill the caches).
const (
	selfLoadConns  = 8
	selfLoadWarmup = 200
)

// selfLoadFromEnv runs the self-load when HTTPD_SELFLOAD asks for it; ok
// false when it does not.
func selfLoadFromEnv(srv *http.Server) (ok bool, err error) {
	v := os.Getenv("HTTPD_SELFLOAD")
	if v == "" {
		return false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return true, fmt.Errorf("HTTPD_SELFLOAD %q: want a positive count of requests", v)
	}
	path := os.Getenv("HTTPD_SELFLOAD_PATH")
	if path == "" {
		path = "/"
	}
	d, err := selfLoad(srv, path, n)
	if err != nil {
		return true, err
	}
	fmt.Printf("selfload: %d requests in %d ns\n", n, d.Nanoseconds())
	return true, nil
}

// selfLoad serves n requests for path with srv over in-memory pipes and
// returns how long they took, after selfLoadWarmup untimed ones. Every
// response must be 200 with a body.
func selfLoad(srv *http.Server, path string, n int) (time.Duration, error) {
	l := newPipeListener()
	go srv.Serve(l)
	defer l.Close()
	tr := &http.Transport{
		DialContext:         func(context.Context, string, string) (net.Conn, error) { return l.dial() },
		MaxIdleConnsPerHost: selfLoadConns,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://selfload" + path
	if err := fetchN(client, url, selfLoadWarmup); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := fetchN(client, url, n); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// fetchN makes n GETs of url from selfLoadConns goroutines at once.
func fetchN(client *http.Client, url string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, selfLoadConns)
	for c := 0; c < selfLoadConns; c++ {
		share := n / selfLoadConns
		if c < n%selfLoadConns {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < share; i++ {
				if err := selfFetch(client, url); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

func selfFetch(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || got == 0 {
		return fmt.Errorf("GET %s: %s, %d bytes", url, resp.Status, got)
	}
	return nil
}

// pipeListener is a net.Listener whose connections are net.Pipes made by
// its dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "selfload" }
