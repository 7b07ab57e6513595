// spin burns CPU for the duration given as its first argument without ever
// making a system call in its inner loop, then prints how many rounds of work
// it did. A second argument names it; a third, a start time in Unix ns, makes
// it sleep until then first. isle preempts it at the end of each slice all the same, and moves
// spinners between cores to share them fairly.
//
//	isle run --stats --cores 2 spin.wasm 1s
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d := time.Second
	if len(os.Args) > 1 {
		var err error
		if d, err = time.ParseDuration(os.Args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "spin:", err)
			os.Exit(2)
		}
	}
	name := "spin"
	if len(os.Args) > 2 {
		name = os.Args[2]
	}
	end := time.Now().Add(d)
	// An optional start time (Unix ns) lets siblings spin over the same
	// interval: each sleeps until then, freeing its core, and all stop at
	// start+duration, whenever the scheduler first ran each of them.
	if len(os.Args) > 3 {
		var ns int64
		if _, err := fmt.Sscan(os.Args[3], &ns); err != nil {
			fmt.Fprintln(os.Stderr, "spin: bad start time:", err)
			os.Exit(2)
		}
		start := time.Unix(0, ns)
		time.Sleep(time.Until(start))
		end = start.Add(d)
	}
	rounds := 0
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 100_000; i++ { // no system call in here
			x = x*6364136223846793005 + 1442695040888963407
		}
		rounds++
	}
	fmt.Printf("%s: %d rounds of work in %v (%x)\n", name, rounds, d, x>>60)
}
