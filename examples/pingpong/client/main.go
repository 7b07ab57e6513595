// Command client is examples/pingpong's client in Go: it looks up
// "pingpong" (or os.Args[3]), sends os.Args[1] Pings (default 1000) with a
// payload of os.Args[2] bytes (default 0), checks every Pong, sends Quit and
// prints the mean round trip and the median over batches of 16 rounds, as
// the C client does.
package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"isle/examples/pingpong/pingpongproto"
	guest "isle/guest/go"
)

const batch = 16

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "pingpong client: %s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	rounds, size, name := 1000, 0, "pingpong"
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		size, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		name = os.Args[3]
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	var srv pingpongproto.PingPongImp
	var err error
	for range 5000 { // the server may not have registered yet
		if srv, err = pingpongproto.LookupPingPong(name); err != guest.ErrNoName {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		fail("lookup", err)
	}
	batches := make([]time.Duration, 0, rounds/batch)
	start := time.Now()
	b0 := start
	for i := range rounds {
		if err := srv.SendPing(uint64(i), payload); err != nil {
			fail("send", err)
		}
		m, err := srv.Recv()
		if err != nil {
			fail("recv", err)
		}
		pong, ok := m.(*pingpongproto.PingPong_Pong)
		if !ok || pong.Seq != uint64(i) || !bytes.Equal(pong.Payload, payload) {
			fmt.Fprintf(os.Stderr, "pingpong client: round %d: bad answer %#v\n", i, m)
			os.Exit(1)
		}
		if (i+1)%batch == 0 {
			b1 := time.Now()
			batches = append(batches, b1.Sub(b0))
			b0 = b1
		}
	}
	elapsed := time.Since(start)
	srv.SendQuit()
	srv.Close()
	mean := time.Duration(0)
	if rounds > 0 {
		mean = elapsed / time.Duration(rounds)
	}
	// One write: another SIP's output may come between two.
	line := fmt.Sprintf("client: %d rounds of %d bytes, %d ns/round", rounds, size, mean.Nanoseconds())
	if len(batches) > 0 {
		slices.Sort(batches)
		line += fmt.Sprintf(" (median of batches of %d: %d ns/round)", batch, (batches[len(batches)/2] / batch).Nanoseconds())
	}
	fmt.Println(line)
}
