// sleep sleeps for the duration given as its argument with time.Sleep (the Go
// runtime sleeps with poll_oneoff): it says "sleeping for D" before it
// sleeps, then prints how long it slept.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	d, err := time.ParseDuration(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("sleeping for %v\n", d)
	start := time.Now()
	time.Sleep(d)
	fmt.Printf("slept at least %v: %v\n", d, time.Since(start) >= d)
}
