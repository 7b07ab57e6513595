// hello is the Go program of the startup suite (a copy of examples/hello
// without its flags): the suite builds it with GOOS=wasip1 GOARCH=wasm at
// benchmark time and runs it under isle and wazero.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from Go")
	for i, a := range os.Args {
		fmt.Printf("argv[%d] = %s\n", i, a)
	}
	fmt.Printf("GREETING = %s\n", os.Getenv("GREETING"))
}
