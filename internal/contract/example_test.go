package contract_test

import (
	"fmt"

	"isle/internal/contract"
)

func Example() {
	set, diags := contract.CompileSource("pingpong.contract", []byte(`
contract PingPong {
  msg Ping(seq u64)
  msg Pong(seq u64)
  initial final state Idle { imp Ping -> Waiting }
  state Waiting { exp Pong -> Idle }
}`))
	if len(diags) > 0 {
		fmt.Println(diags)
		return
	}
	c := set.Lookup("PingPong")
	ping := c.MessageByName("Ping")

	// The kernel, on a send from the importer's endpoint:
	s := c.Initial()
	next, ok := c.Step(s, contract.Importer, ping.ID())
	fmt.Println(c.StateName(next), ok)
	payload, _ := ping.Encode(nil, uint64(7))
	_, err := ping.CheckFields(payload, nil)
	fmt.Printf("% x %v\n", payload, err)

	// A second Ping before the Pong breaks the contract.
	_, ok = c.Step(next, contract.Importer, ping.ID())
	fmt.Println(ok)
	// Output:
	// Waiting true
	// 07 00 00 00 00 00 00 00 <nil>
	// false
}

func ExampleCheckSource() {
	_, diags := contract.CheckSource("bad.contract", []byte(`contract C {
  msg Hello
  msg Hi
  initial state Open {
    imp Hello -> Open
    exp Hi -> Open
  }
}`))
	for _, d := range diags {
		fmt.Println(d)
	}
	// Output:
	// bad.contract:4:17: mixed state Open: both the importer (imp Hello at 5:5) and the exporter (exp Hi at 6:5) may send
}
