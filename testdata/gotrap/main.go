// Command gotrap makes a Go program trap the way WebAssembly does: it loads
// from an address past the end of its linear memory, which Go's nil checks do
// not catch, so the guest traps with "out of bounds memory access" inside
// main.inner, called by main.outer. isle must exit 134 and print the trap
// line, then the guest's stack with those names.
package main

import (
	"fmt"
	"os"
	"unsafe"
)

//go:noinline
func inner(p uintptr) byte { return *(*byte)(unsafe.Pointer(p)) }

//go:noinline
func outer() byte { return inner(0xFFFFFFF0) }

func main() {
	fmt.Println("about to trap")
	os.Exit(int(outer()))
}
