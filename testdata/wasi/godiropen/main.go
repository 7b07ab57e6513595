// Command godiropen opens the directory its argument names 200 times, as
// Go's file server does for every GET of a directory (os.Open, Stat,
// Close), reads it once, and prints "godiropen ok" and its entries, sorted.
// isle serves those opens on the core (docs/wasi.md, "Calls served on the
// core").
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	dir := os.Args[1]
	for i := range 200 {
		f, err := os.Open(dir)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		if fi, err := f.Stat(); err != nil || !fi.IsDir() {
			fmt.Println("stat", i, err)
			os.Exit(1)
		}
		f.Close()
	}
	f, err := os.Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		fmt.Println("readdir:", err)
		os.Exit(1)
	}
	slices.Sort(names)
	fmt.Println("godiropen ok", strings.Join(names, " "))
}
