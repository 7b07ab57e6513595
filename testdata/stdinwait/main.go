// stdinwait reads stdin's lines on a goroutine while main goes on, to show
// that a goroutine blocked on stdin leaves the rest of a Go program
// running. With "select", main waits for a line or 50 ms, whichever comes
// first, and says "timeout" if no line came; with "ticks", main prints a
// tick every 5 ms until a line comes; with "wait", main says "waiting" and
// waits with no timer (the runtime then polls stdin with no deadline); with
// "net", likewise while another goroutine waits to accept a connection on
// the listener at fd 3 (the runtime then polls stdin and a socket at once).
// Then it prints every line and "eof".
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"syscall"
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
	case "net":
		// NONBLOCK first, so that os.NewFile puts the listener in the
		// runtime's poller (else Accept blocks the whole program).
		syscall.SetNonblock(3, true)
		l, err := net.FileListener(os.NewFile(3, "listener"))
		if err != nil {
			fmt.Println("FileListener:", err)
			os.Exit(1)
		}
		go func() {
			if _, err := l.Accept(); err == nil {
				fmt.Println("accepted")
			}
		}()
		fallthrough
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
