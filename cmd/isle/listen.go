package main

import (
	"fmt"
	"io"
	"net"
	"os"

	"isle"
)

// listenControl opens the control socket of `isle run --control PATH`. A
// path where a machine answers is in use; a socket file nobody answers on
// (left by a machine that was killed) is replaced; any other file is not
// touched.
func listenControl(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: in use: a machine already answers there", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s: exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, unwrapPath(err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		if oe, ok := err.(*net.OpError); ok {
			return nil, fmt.Errorf("%s: %v", path, oe.Err)
		}
		return nil, err
	}
	return ln, nil
}

// observeFlags opens --control and --metrics before the machine boots, so
// that a path in use or a busy port is one line at once; close closes what
// was opened if the machine never took it.
func observeFlags(cfg isle.Config, control, metrics string, stderr io.Writer) (isle.Config, func(), bool) {
	var opened []net.Listener
	closeAll := func() {
		for _, ln := range opened {
			ln.Close()
		}
	}
	if control != "" {
		ln, err := listenControl(control)
		if err != nil {
			fmt.Fprintf(stderr, "isle run: --control %v\n", err)
			return cfg, closeAll, false
		}
		opened = append(opened, ln)
		cfg = cfg.WithControl(ln)
	}
	if metrics != "" {
		ln, err := net.Listen("tcp", metrics)
		if err != nil {
			closeAll()
			if oe, ok := err.(*net.OpError); ok {
				err = oe.Err
			}
			fmt.Fprintf(stderr, "isle run: --metrics %s: %v\n", metrics, err)
			return cfg, func() {}, false
		}
		opened = append(opened, ln)
		cfg = cfg.WithMetrics(ln)
	}
	return cfg, closeAll, true
}
