// Command server is examples/kv's key-value service: it registers "kv"
// (contract KV, examples/contracts/kv.contract) and serves every client that
// connects, all at once, with one wait-set receive over the listener and the
// clients' channels. A client may watch a key: it hands the server the
// exporting end of a KVWatch channel, on which the server sends each change.
// With an argument N it exits after N clients said Bye or went away.
package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"isle/examples/kv/kvproto"
	guest "isle/guest/go"
)

type entry struct {
	value   []byte
	version uint64
}

func main() {
	clients := 0
	if len(os.Args) > 1 {
		clients, _ = strconv.Atoi(os.Args[1])
	}
	l, err := kvproto.RegisterKV("kv")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv server: register:", err)
		os.Exit(1)
	}
	store := map[string]*entry{}
	watchers := map[string][]kvproto.KVWatchExp{}
	set := []guest.Handle{l.H} // the wait set: listener first, then clients
	gone := 0
	buf := make([]byte, 4096)
	notify := func(key string, send func(w kvproto.KVWatchExp) error) {
		ws := watchers[key][:0]
		for _, w := range watchers[key] {
			if send(w) == nil {
				ws = append(ws, w)
			} else {
				w.Close() // the client dropped its end
			}
		}
		watchers[key] = ws
	}
	for clients == 0 || gone < clients {
		info, p, err := guest.RecvAny(set, buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kv server: recv:", err)
			os.Exit(1)
		}
		if info.Index == 0 {
			d := guest.Dec{B: p}
			set = append(set, d.Handle())
			continue
		}
		c := kvproto.KVExp{H: set[info.Index]}
		switch m := kvproto.DecodeKV(info, p).(type) {
		case *kvproto.KV_Get:
			e, ok := store[m.Key]
			var v []byte
			if ok {
				v = e.value
			}
			err = c.SendValue(ok, v)
		case *kvproto.KV_Put:
			e := store[m.Key]
			if e == nil {
				e = &entry{}
				store[m.Key] = e
			}
			e.value, e.version = m.Value, e.version+1
			err = c.SendDone(true)
			notify(m.Key, func(w kvproto.KVWatchExp) error { return w.SendChanged(m.Key, e.value, e.version) })
		case *kvproto.KV_Delete:
			e, ok := store[m.Key]
			delete(store, m.Key)
			err = c.SendDone(ok)
			if ok {
				notify(m.Key, func(w kvproto.KVWatchExp) error { return w.SendDeleted(m.Key, e.version+1) })
			}
		case *kvproto.KV_Watch:
			watchers[m.Key] = append(watchers[m.Key], m.Changes)
			err = c.SendDone(true)
		case *kvproto.KV_Bye, kvproto.KVClosed:
			c.Close()
			set = slices.Delete(set, int(info.Index), int(info.Index)+1)
			gone++
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kv server: send:", err)
			os.Exit(1)
		}
	}
	for _, ws := range watchers {
		for _, w := range ws {
			w.SendStop()
			w.Close()
		}
	}
	fmt.Printf("kv server: served %d clients\n", gone)
}
