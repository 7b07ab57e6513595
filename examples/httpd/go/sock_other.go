//go:build !wasip1

package main

// firstSocket: outside WASI, the listener is fd 3 (as a socket-activated
// service gets it).
func firstSocket() int { return 3 }
