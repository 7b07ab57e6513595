package cluster

import (
	"errors"
	"reflect"
	"testing"
)

// The state machine is pure: a table of commands and their outcomes.
func TestStateApply(t *testing.T) {
	s := newState()
	s.applyMember(true, 1, "a:1")
	s.applyMember(true, 2, "b:1")
	reg := func(by uint64, name string) command {
		return command{Op: opRegister, By: by, Name: name, Val: Name{Node: by, Contract: "C"}}
	}
	unreg := func(by uint64, name string) command {
		return command{Op: opUnregister, By: by, Name: name, Val: Name{Node: by}}
	}
	for i, tc := range []struct {
		c    command
		want error
	}{
		{reg(1, "x"), nil},
		{reg(2, "x"), ErrExists},
		{reg(3, "y"), ErrInvalid}, // not a member
		{command{Op: opRegister, By: 2, Name: "z", Val: Name{Node: 1}}, ErrInvalid}, // for another node
		{reg(1, ""), ErrInvalid},
		{command{Op: "frob", By: 1, Val: Name{Node: 1}}, ErrInvalid},
		{unreg(2, "x"), ErrNotOwner},
		{unreg(1, "nope"), ErrNotFound},
		{unreg(1, "x"), nil},
		{reg(2, "x"), nil},
	} {
		if err := s.apply(tc.c); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%d: %+v: %v, want %v", i, tc.c, err, tc.want)
		}
	}
	if got := s.Names; !reflect.DeepEqual(got, map[string]Name{"x": {Node: 2, Contract: "C"}}) {
		t.Fatalf("names: %v", got)
	}
}

func TestStateMembership(t *testing.T) {
	s := newState()
	for i, tc := range []struct {
		add  bool
		id   uint64
		addr string
		want error
	}{
		{true, 1, "a:1", nil},
		{true, 1, "a:1", nil}, // again, same address: harmless
		{true, 1, "b:1", ErrRefused},
		{true, 0, "a:1", ErrInvalid},
		{true, 2, "", ErrInvalid},
		{false, 9, "", ErrInvalid},
		{true, 2, "b:1", nil},
		{false, 2, "", nil},
		{true, 2, "b:1", ErrRefused}, // removed: never again
	} {
		err := s.admit(tc.add, tc.id, tc.addr)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%d: admit(%v, %d, %q) = %v, want %v", i, tc.add, tc.id, tc.addr, err, tc.want)
		}
		if err == nil {
			s.applyMember(tc.add, tc.id, tc.addr)
		}
	}
	if !reflect.DeepEqual(s.Members, map[uint64]string{1: "a:1"}) || !s.Removed[2] {
		t.Fatalf("members %v, removed %v", s.Members, s.Removed)
	}
}

// A request applied twice (a proposal retried after its first copy
// committed) is answered with its first outcome and changes nothing more;
// the record survives a snapshot and is pruned after DedupWindow entries.
func TestStateApplyOnce(t *testing.T) {
	s := newState()
	s.applyMember(true, 1, "a:1")
	s.applyMember(true, 2, "b:1")
	c := command{Op: opRegister, Req: 7, By: 1, Name: "x", Val: Name{Node: 1}}
	if err := s.applyOnce(c, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.applyOnce(c, 11); err != nil {
		t.Fatalf("the retry: %v, want the first outcome (nil)", err)
	}
	u := command{Op: opUnregister, Req: 8, By: 2, Name: "x", Val: Name{Node: 2}}
	if err := s.applyOnce(u, 12); !errors.Is(err, ErrNotOwner) {
		t.Fatal(err)
	}
	s2, err := unmarshalState(s.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, s2) {
		t.Fatalf("snapshot round trip: %+v != %+v", s2, s)
	}
	if err := s2.applyOnce(u, 13); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("retry after a snapshot: %v", err)
	}
	s2.applyOnce(command{Op: opRegister, Req: 9, By: 1, Name: "y", Val: Name{Node: 1}}, 10+DedupWindow+1024-(10+DedupWindow)%1024)
	if _, ok := s2.Done[7]; ok {
		t.Fatalf("request 7 still remembered past the window")
	}
	if _, err := unmarshalState([]byte("{")); !errors.Is(err, ErrCorruptLog) {
		t.Fatalf("a bad snapshot: %v", err)
	}
}
