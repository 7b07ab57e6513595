// spin burns CPU for the duration given as its first argument without ever
// making a system call in its inner loop, then prints how many rounds of work
// it did. isle preempts it at the end of each slice all the same, and moves
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
