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

// server is the service's state; main's loop owns it.
type server struct {
	store    map[string]*entry
	watchers map[string][]kvproto.KVWatchExp
	set      []guest.Handle // the wait set: listener first, then clients
	gone     int            // clients that said Bye or went away
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
	s := &server{
		store:    map[string]*entry{},
		watchers: map[string][]kvproto.KVWatchExp{},
		set:      []guest.Handle{l.H},
	}
	buf := make([]byte, 4096)
	for clients == 0 || s.gone < clients {
		info, p, err := guest.RecvAny(s.set, buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kv server: recv:", err)
			os.Exit(1)
		}
		if info.Index == 0 {
			d := guest.Dec{B: p}
			s.set = append(s.set, d.Handle())
			continue
		}
		if err := s.serve(info, p); err != nil {
			fmt.Fprintln(os.Stderr, "kv server: send:", err)
			os.Exit(1)
		}
	}
	s.stop()
	fmt.Printf("kv server: served %d clients\n", s.gone)
}

// serve answers one client's message; an error is a failed send.
func (s *server) serve(info guest.Info, p []byte) error {
	c := kvproto.KVExp{H: s.set[info.Index]}
	switch m := kvproto.DecodeKV(info, p).(type) {
	case *kvproto.KV_Get:
		e, ok := s.store[m.Key]
		var v []byte
		if ok {
			v = e.value
		}
		return c.SendValue(ok, v)
	case *kvproto.KV_Put:
		e := s.store[m.Key]
		if e == nil {
			e = &entry{}
			s.store[m.Key] = e
		}
		e.value, e.version = m.Value, e.version+1
		err := c.SendDone(true)
		s.notify(m.Key, func(w kvproto.KVWatchExp) error { return w.SendChanged(m.Key, e.value, e.version) })
		return err
	case *kvproto.KV_Delete:
		e, ok := s.store[m.Key]
		delete(s.store, m.Key)
		err := c.SendDone(ok)
		if ok {
			s.notify(m.Key, func(w kvproto.KVWatchExp) error { return w.SendDeleted(m.Key, e.version+1) })
		}
		return err
	case *kvproto.KV_Watch:
		s.watchers[m.Key] = append(s.watchers[m.Key], m.Changes)
		return c.SendDone(true)
	case *kvproto.KV_Bye, kvproto.KVClosed:
		c.Close()
		s.set = slices.Delete(s.set, int(info.Index), int(info.Index)+1)
		s.gone++
	}
	return nil
}

// notify sends a change of key to its watchers, dropping those whose
// client dropped its end.
func (s *server) notify(key string, send func(w kvproto.KVWatchExp) error) {
	ws := s.watchers[key][:0]
	for _, w := range s.watchers[key] {
		if send(w) == nil {
			ws = append(ws, w)
		} else {
			w.Close()
		}
	}
	s.watchers[key] = ws
}

// stop tells every watcher that the server is done.
func (s *server) stop() {
	for _, ws := range s.watchers {
		for _, w := range ws {
			w.SendStop()
			w.Close()
		}
	}
}
