package contract

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genContract draws a random contract: n states, m messages, each state
// with a sender side and a few transitions. It is often not clean (states
// unreachable or stuck), never mixed and never nondeterministic.
// ref[state][msg] = next is the reference transition table.
func genContract(t *rapid.T) (src string, ref []map[int]int, senders []Side, finals []bool) {
	nStates := rapid.IntRange(1, 6).Draw(t, "states")
	nMsgs := rapid.IntRange(1, 4).Draw(t, "msgs")
	var b strings.Builder
	b.WriteString("contract R {\n")
	for m := range nMsgs {
		fmt.Fprintf(&b, "  msg M%d(x u32)\n", m)
	}
	ref = make([]map[int]int, nStates)
	senders = make([]Side, nStates)
	finals = make([]bool, nStates)
	for s := range nStates {
		finals[s] = rapid.Bool().Draw(t, "final")
		side := rapid.SampledFrom([]Side{Importer, Exporter}).Draw(t, "side")
		ref[s] = map[int]int{}
		for _, m := range rapid.SliceOfDistinct(rapid.IntRange(0, nMsgs-1), rapid.ID[int]).Draw(t, "trans") {
			ref[s][m] = rapid.IntRange(0, nStates-1).Draw(t, "next")
		}
		if len(ref[s]) > 0 {
			senders[s] = side
		}
		if s == 0 {
			b.WriteString("  initial ")
		} else {
			b.WriteString("  ")
		}
		if finals[s] {
			b.WriteString("final ")
		}
		fmt.Fprintf(&b, "state S%d {", s)
		for m := range nMsgs {
			if next, ok := ref[s][m]; ok {
				fmt.Fprintf(&b, " %s M%d -> S%d", side, m, next)
			}
		}
		b.WriteString(" }\n")
	}
	b.WriteString("}\n")
	return b.String(), ref, senders, finals
}

// TestStepMatchesReference: the compiled transition table agrees with a
// plain map built alongside the source, for every (state, side, message).
func TestStepMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src, ref, senders, finals := genContract(t)
		f, diags := ParseFile("r", []byte(src))
		if len(diags) > 0 {
			t.Fatalf("generated source does not parse: %v\n%s", diags, src)
		}
		for _, d := range Check(f) {
			if !strings.Contains(d.Msg, "unreachable") && !strings.Contains(d.Msg, "no way out") {
				t.Fatalf("unexpected diagnostic %s\n%s", d, src)
			}
		}
		set, diags := Compile(f)
		if len(diags) > 0 {
			return // only unreachable or stuck states, as allowed above
		}
		c := set.Lookup("R")
		for s := range c.NumStates() {
			if c.Final(StateID(s)) != finals[s] || c.Sender(StateID(s)) != senders[s] {
				t.Fatalf("state S%d: final/sender wrong", s)
			}
			for _, side := range []Side{NoSide, Importer, Exporter} {
				for m := range c.NumMessages() {
					next, ok := c.Step(StateID(s), side, MsgID(m))
					want, wantOK := ref[s][m]
					wantOK = wantOK && side == senders[s]
					if ok != wantOK || (ok && int(next) != want) {
						t.Fatalf("Step(S%d, %s, M%d) = %d, %v; want %d, %v\n%s", s, side, m, next, ok, want, wantOK, src)
					}
				}
			}
		}
	})
}

// TestPeersNeverDeadlock plays two peers that follow a random clean
// contract over two in-order queues, interleaved at random, and checks the
// claims of docs/contracts.md ("Why no mixed states"): a received message
// is always allowed in the receiver's state; nothing is ever in flight both
// ways; and when neither peer can move, both are in the same final state.
func TestPeersNeverDeadlock(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src, _, _, _ := genContract(t)
		set, diags := CompileSource("r", []byte(src))
		if len(diags) > 0 {
			t.Skip("not a clean contract")
		}
		c := set.Lookup("R")
		state := map[Side]StateID{Importer: c.Initial(), Exporter: c.Initial()}
		inbox := map[Side][]MsgID{} // messages in flight to a side
		for range 100 {
			type move struct {
				side Side
				send bool
				t    Transition
			}
			var moves []move
			for _, side := range []Side{Importer, Exporter} {
				if len(inbox[side]) > 0 {
					moves = append(moves, move{side: side})
				}
				if c.Sender(state[side]) == side {
					for _, tr := range c.Transitions(state[side]) {
						moves = append(moves, move{side: side, send: true, t: tr})
					}
				}
			}
			if len(inbox[Importer]) > 0 && len(inbox[Exporter]) > 0 {
				t.Fatalf("messages in flight both ways\n%s", src)
			}
			if len(moves) == 0 {
				if state[Importer] != state[Exporter] || !c.Final(state[Importer]) {
					t.Fatalf("deadlock: importer in %s, exporter in %s\n%s",
						c.StateName(state[Importer]), c.StateName(state[Exporter]), src)
				}
				return
			}
			mv := rapid.SampledFrom(moves).Draw(t, "move")
			if mv.send {
				next, ok := c.Step(state[mv.side], mv.side, mv.t.Msg)
				if !ok || next != mv.t.Next {
					t.Fatalf("Step disagrees with Transitions")
				}
				state[mv.side] = next
				inbox[mv.side.Peer()] = append(inbox[mv.side.Peer()], mv.t.Msg)
				continue
			}
			m := inbox[mv.side][0]
			inbox[mv.side] = inbox[mv.side][1:]
			next, ok := c.Step(state[mv.side], mv.side.Peer(), m)
			if !ok {
				t.Fatalf("%s received %s, not allowed in %s\n%s", mv.side, c.Message(m).Name(), c.StateName(state[mv.side]), src)
			}
			state[mv.side] = next
		}
	})
}
