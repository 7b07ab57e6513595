// Command goecho serves one connection on the listener at fd 3 (given with
// --listen) through Go's net package: it echoes what it reads, upper-cased,
// until the peer closes its side.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	l, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Println("FileListener:", err)
		os.Exit(1)
	}
	c, err := l.Accept()
	if err != nil {
		fmt.Println("Accept:", err)
		os.Exit(1)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		fmt.Println("ReadAll:", err)
		os.Exit(1)
	}
	c.Write(bytes.ToUpper(b))
	c.Close()
	fmt.Printf("echoed %d bytes\n", len(b))
}
