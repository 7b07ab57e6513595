// hello is isle's first Go program: it prints its arguments and the GREETING
// environment variable, and exits with the status given after --exit.
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello.wasm ./examples/hello
//	isle run --env GREETING=hi hello.wasm a b --exit 3
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	fmt.Println("hello from Go")
	status := 0
	for i, a := range os.Args {
		fmt.Printf("argv[%d] = %s\n", i, a)
		if a == "--exit" && i+1 < len(os.Args) {
			n, err := strconv.Atoi(os.Args[i+1])
			if err != nil {
				fmt.Fprintf(os.Stderr, "hello: bad exit status %q\n", os.Args[i+1])
				os.Exit(2)
			}
			status = n
		}
	}
	fmt.Printf("GREETING = %s\n", os.Getenv("GREETING"))
	os.Exit(status)
}
