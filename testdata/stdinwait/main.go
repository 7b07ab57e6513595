// stdinwait reads stdin's lines on a goroutine while main goes on, to show
// that a goroutine blocked on stdin leaves the rest of a Go program
// running. With "select", main waits for a line or 50 ms, whichever comes
// first, and says "timeout" if no line came; with "ticks", main prints a
// tick every 5 ms until a line comes; with "wait", main says "waiting" and
// waits with no timer (the runtime then polls stdin with no deadline).
// Then it prints every line and "eof".
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

func main() {
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(os.Stdin)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	switch os.Args[1] {
	case "wait":
		fmt.Println("waiting")
	case "select":
		select {
		case l := <-lines:
			fmt.Println("early:", l)
		case <-time.After(50 * time.Millisecond):
			fmt.Println("timeout")
		}
	case "ticks":
		ticker := time.NewTicker(5 * time.Millisecond)
		for i := 1; ; i++ {
			select {
			case l, ok := <-lines:
				if ok {
					fmt.Println("line:", l)
				}
				goto rest
			case <-ticker.C:
				fmt.Println("tick", i)
			}
		}
	}
rest:
	for l := range lines {
		fmt.Println("line:", l)
	}
	fmt.Println("eof")
}
