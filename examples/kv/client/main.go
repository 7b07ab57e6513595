// Command client is examples/kv's Go client: it looks up "kv", stores,
// reads and deletes a key, watches it through a KVWatch channel whose
// exporting end it hands to the server, and shows what the kernel refuses.
// Every line it prints is deterministic.
package main

import (
	"fmt"
	"os"
	"time"

	"isle/examples/kv/kvproto"
	guest "isle/guest/go"
)

func must(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "kv client: %s: %v\n", what, err)
		os.Exit(1)
	}
}

// call sends one request and returns the server's answer.
func call(kv kvproto.KVImp, send func() error) kvproto.KVMsg {
	must("send", send())
	m, err := kv.Recv()
	must("recv", err)
	return m
}

func show(m any) string {
	switch m := m.(type) {
	case *kvproto.KV_Value:
		return fmt.Sprintf("Value(found=%v, %q)", m.Found, m.Value)
	case *kvproto.KV_Done:
		return fmt.Sprintf("Done(%v)", m.Ok)
	case *kvproto.KV_Fail:
		return fmt.Sprintf("Fail(%s)", m.Reason)
	case *kvproto.KVWatch_Changed:
		return fmt.Sprintf("Changed(%s=%q, v%d)", m.Key, m.Value, m.Version)
	case *kvproto.KVWatch_Deleted:
		return fmt.Sprintf("Deleted(%s, v%d)", m.Key, m.Version)
	}
	return fmt.Sprintf("%T", m)
}

func main() {
	key := "go:color"
	var kv kvproto.KVImp
	var err error
	for range 5000 { // the server may not have registered yet
		if kv, err = kvproto.LookupKV("kv"); err != guest.ErrNoName {
			break
		}
		time.Sleep(time.Millisecond)
	}
	must("lookup", err)
	fmt.Println("put:", show(call(kv, func() error { return kv.SendPut(key, []byte("red")) })))
	fmt.Println("get:", show(call(kv, func() error { return kv.SendGet(key) })))

	wimp, wexp, err := kvproto.NewKVWatch()
	must("new watch", err)
	fmt.Println("watch:", show(call(kv, func() error { return kv.SendWatch(key, wexp) })))
	// The exporting end moved to the server: this SIP's handle is dead.
	fmt.Println("close the sent end:", wexp.Close())

	fmt.Println("put:", show(call(kv, func() error { return kv.SendPut(key, []byte("blue")) })))
	m, err := wimp.Recv()
	must("watch recv", err)
	fmt.Println("watch saw:", show(m))
	fmt.Println("delete:", show(call(kv, func() error { return kv.SendDelete(key) })))
	m, err = wimp.Recv()
	must("watch recv", err)
	fmt.Println("watch saw:", show(m))
	fmt.Println("get:", show(call(kv, func() error { return kv.SendGet(key) })))

	// What the kernel refuses; the server never sees any of it.
	fmt.Println("client sends Value:", guest.Send(kv.H, kvproto.KV_Value_ID, []byte{1, 0, 0, 0, 0}))
	fmt.Println("Get with a bad payload:", guest.Send(kv.H, kvproto.KV_Get_ID, []byte{9, 0, 0, 0, 'x'}))
	fmt.Println("Get on a forged handle:", guest.Send(kv.H+12345, kvproto.KV_Get_ID, []byte{0, 0, 0, 0}))
	fmt.Println("get:", show(call(kv, func() error { return kv.SendGet(key) })))

	must("bye", kv.SendBye())
	must("close", kv.Close())
	must("close watch", wimp.Close())
	fmt.Println("bye")
}
