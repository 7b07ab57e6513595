// Command dotdir reads, lists and writes files by relative names, as a
// program run with its working directory preopened (`isle run --dir .`)
// does: it prints what it read, the sorted listing of ".", and writes
// out.txt. isle must let it, as wazero's `-mount .` does.
package main

import (
	"fmt"
	"os"
	"sort"
)

func main() {
	b, err := os.ReadFile("hello.txt")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("read: %s", b)
	es, err := os.ReadDir(".")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Println("ls:", names)
	if err := os.WriteFile("out.txt", []byte("written\n"), 0o644); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
