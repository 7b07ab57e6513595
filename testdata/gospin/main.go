// gospin says "spinning", then counts up forever in a loop that makes no
// call, for the tests of preemption. Go's wasm makes the loop back-edges
// of main's dispatch loop, which makes calls (the print), so the rewriting
// gives each back-edge a copy of its case (docs/preemption.md).
package main

import "os"

var x, y uint64

func main() {
	os.Stdout.WriteString("spinning\n")
	for {
		x++
		if x&1 == 0 {
			y += x
		}
	}
}
