package contract

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("../../examples/contracts/*.contract")
	more, _ := filepath.Glob("testdata/*.contract")
	for _, p := range append(paths, more...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(kvSrc))
	f.Add([]byte(allKindsSrc))
	f.Add([]byte(good))
	f.Add([]byte("contract A { msg M(a imp<A>,) initial state S { imp M -> S exp M -> T } state T {} }"))
	f.Add([]byte("\xef\xbb\xbfcontract { ( -> < > , } \xff $"))
}

// FuzzParse: the parser and checker never panic, always report at a real
// place in the input, in sorted order, the same way twice; and a file they
// accept compiles, and prints as source that is accepted again.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := CheckSource("f", src)
		if file == nil {
			t.Fatal("nil File")
		}
		lines := bytes.Split(src, []byte("\n"))
		for i, d := range diags {
			if d.File != "f" || d.Msg == "" {
				t.Fatalf("bad diagnostic %q", d)
			}
			if d.Pos.Line < 1 || d.Pos.Line > len(lines) || d.Pos.Col < 1 || d.Pos.Col > len(lines[d.Pos.Line-1])+1 {
				t.Fatalf("diagnostic outside the input (%d lines): %s", len(lines), d)
			}
			if i > 0 && diags[i-1].Pos.compare(d.Pos) > 0 {
				t.Fatalf("not sorted: %s before %s", diags[i-1], d)
			}
		}
		_, again := CheckSource("f", src)
		if !slices.Equal(diags, again) {
			t.Fatalf("not deterministic:\n%v\n%v", diags, again)
		}
		if len(diags) > 0 {
			return
		}
		set, cdiags := Compile(file)
		if len(cdiags) > 0 || set == nil {
			t.Fatalf("checked clean but Compile says %v", cdiags)
		}
		var b bytes.Buffer
		for i := range set.Len() {
			c := set.At(i)
			b.WriteString(c.String())
			for s := range c.NumStates() {
				if len(c.Transitions(StateID(s))) == 0 && !c.Final(StateID(s)) {
					t.Fatalf("state %s of %s has no way out", c.StateName(StateID(s)), c.Name())
				}
			}
		}
		if _, d := CompileSource("printed", b.Bytes()); len(d) > 0 {
			t.Fatalf("printed form does not compile: %v\n%s", d, b.String())
		}
	})
}

// FuzzDecode: CheckFields and Decode agree on every payload, never panic,
// and a valid payload re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	c := allKinds(f)
	for i := range c.NumMessages() {
		f.Add(uint8(i), []byte{})
	}
	all, _ := c.MessageByName("All").Encode(nil, int32(1), int64(2), uint32(3), uint64(4), 5.0, true, "x", []byte("yz"), Handle(1), Handle(2))
	f.Add(uint8(0), all)
	f.Add(uint8(1), []byte{1, 0, 0, 0, 0xff})
	f.Add(uint8(2), []byte{2})
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		m := c.Message(MsgID(int(which) % c.NumMessages()))
		refs, err := m.CheckFields(payload, nil)
		vals, derr := m.Decode(payload)
		if (err == nil) != (derr == nil) {
			t.Fatalf("CheckFields says %v, Decode says %v", err, derr)
		}
		if err != nil {
			return
		}
		var endpoints int
		for i := range m.NumFields() {
			if m.Field(i).Kind == KindEndpoint {
				endpoints++
			}
		}
		if len(refs) != endpoints {
			t.Fatalf("%d refs for %d endpoint fields", len(refs), endpoints)
		}
		for _, r := range refs {
			if r.Offset < 0 || r.Offset+4 > len(payload) || vals[r.Field] != r.Handle {
				t.Fatalf("bad ref %+v", r)
			}
		}
		again, err := m.Encode(nil, vals...)
		if err != nil {
			t.Fatalf("re-encoding a decoded payload: %v", err)
		}
		if !bytes.Equal(again, payload) {
			t.Fatalf("round trip:\n got % x\nwant % x", again, payload)
		}
	})
}
