package names

import (
	"fmt"
	"slices"
	"testing"

	"isle/internal/contract"
	"isle/internal/ipc"
)

const src = `contract A { msg M initial final state S { imp M -> S } }
contract B { msg M(x u32) initial final state S { imp M -> S } }`

func TestRegisterLookupUnregister(t *testing.T) {
	set := contract.MustCompile("a.contract", src)
	again := contract.MustCompile("copy.contract", src) // compiled apart: same fingerprint
	a, b := set.Lookup("A"), set.Lookup("B")
	s := New()
	l1, l2 := &ipc.Endpoint{}, &ipc.Endpoint{}
	if err := s.Register(nil, "svc", Entry{Contract: a, Listener: l1, Core: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{{"", ipc.ErrInvalid}, {"svc", ipc.ErrExists}} {
		if err := s.Register(nil, tc.name, Entry{Contract: a, Listener: l2}); err != tc.err {
			t.Errorf("Register(%q) = %v, want %v", tc.name, err, tc.err)
		}
	}
	if e, err := s.Lookup(nil, "svc", again.Lookup("A")); err != nil || e.Listener != l1 || e.Core != 1 {
		t.Errorf("Lookup with a copy of the contract: %+v, %v", e, err)
	}
	if _, err := s.Lookup(nil, "svc", b); err != ipc.ErrMismatch {
		t.Errorf("Lookup with another contract: %v", err)
	}
	if _, err := s.Lookup(nil, "nobody", a); err != ipc.ErrNoName {
		t.Errorf("Lookup of an unregistered name: %v", err)
	}
	s.Unregister(nil, "svc", l2) // not its listener: no effect
	if _, err := s.Lookup(nil, "svc", a); err != nil {
		t.Errorf("Unregister by another listener removed the name: %v", err)
	}
	s.Unregister(nil, "svc", l1)
	if _, err := s.Lookup(nil, "svc", a); err != ipc.ErrNoName {
		t.Errorf("after Unregister: %v", err)
	}
}

func TestWatch(t *testing.T) {
	a := contract.MustCompile("a.contract", src).Lookup("A")
	s := New()
	var got []string
	s.Watch(func(name string, e Entry, registered bool) {
		got = append(got, fmt.Sprintf("%s %s %v", name, e.Contract.Name(), registered))
	})
	l1, l2 := &ipc.Endpoint{}, &ipc.Endpoint{}
	s.Register(nil, "svc", Entry{Contract: a, Listener: l1})
	s.Register(nil, "svc", Entry{Contract: a, Listener: l2}) // refused: not heard
	s.Unregister(nil, "svc", l2)                             // not its listener: not heard
	s.Unregister(nil, "svc", l1)
	if want := []string{"svc A true", "svc A false"}; !slices.Equal(got, want) {
		t.Fatalf("heard %q, want %q", got, want)
	}
}
