// Command server is examples/pingpong's server in Go: it registers
// "pingpong" (or os.Args[2]) and answers every Ping with a Pong of the same
// sequence number and payload, for as many clients as os.Args[1] says
// (default 1), one after another, then exits. It speaks to the C client as
// well as to the Go one: both sides check the contract's fingerprint.
package main

import (
	"fmt"
	"os"
	"strconv"

	"isle/examples/pingpong/pingpongproto"
)

func main() {
	clients, name := 1, "pingpong"
	if len(os.Args) > 1 {
		clients, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		name = os.Args[2]
	}
	l, err := pingpongproto.RegisterPingPong(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingpong server: register:", err)
		os.Exit(1)
	}
	pings := 0
	for range clients {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "pingpong server: accept:", err)
			os.Exit(1)
		}
	serve:
		for {
			m, err := c.Recv()
			if err != nil {
				fmt.Fprintln(os.Stderr, "pingpong server: recv:", err)
				os.Exit(1)
			}
			switch m := m.(type) {
			case *pingpongproto.PingPong_Ping:
				pings++
				if err := c.SendPong(m.Seq, m.Payload); err != nil {
					fmt.Fprintln(os.Stderr, "pingpong server: send:", err)
					os.Exit(1)
				}
			default: // Quit, or the client went away
				break serve
			}
		}
		c.Close()
	}
	fmt.Printf("server: %d pings from %d clients\n", pings, clients)
}
