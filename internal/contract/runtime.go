package contract

// The runtime form of contracts: what the kernel consults on every send.
//
// Everything here is immutable after Compile returns and may be shared by
// every core without locks. Messages and states are numbered densely from 0
// in the order they are declared, so a kernel can keep an endpoint's
// protocol state in a StateID and index tables by MsgID. Step, Final,
// Sender and the field validator allocate nothing.

import (
	"fmt"
	"strings"
)

// Side is one end of a channel. The importer is the client, which obtained
// the channel (from a name lookup, say); the exporter is the server that
// offers it.
type Side uint8

const (
	NoSide   Side = iota // nobody: a final state with no transitions
	Importer             // written imp
	Exporter             // written exp
)

func (s Side) String() string {
	switch s {
	case Importer:
		return "imp"
	case Exporter:
		return "exp"
	}
	return "none"
}

// Peer is the other end: Importer for Exporter and the reverse.
func (s Side) Peer() Side {
	switch s {
	case Importer:
		return Exporter
	case Exporter:
		return Importer
	}
	return NoSide
}

// Kind is the type of a message field.
type Kind uint8

const (
	KindInvalid Kind = iota
	KindI32
	KindI64
	KindU32
	KindU64
	KindF64
	KindBool
	KindString
	KindBytes
	KindEndpoint // imp<C> or exp<C>: a handle to one end of a channel of contract C
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindI32:
		return "i32"
	case KindI64:
		return "i64"
	case KindU32:
		return "u32"
	case KindU64:
		return "u64"
	case KindF64:
		return "f64"
	case KindBool:
		return "bool"
	case KindString:
		return "string"
	case KindBytes:
		return "bytes"
	case KindEndpoint:
		return "endpoint"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Size returns the encoded size of a field of kind k in bytes, or 0 for
// string and bytes, whose size depends on the value (a 4-byte length word
// plus the content).
func (k Kind) Size() int {
	switch k {
	case KindBool:
		return 1
	case KindI32, KindU32, KindEndpoint:
		return 4
	case KindI64, KindU64, KindF64:
		return 8
	}
	return 0
}

// StateID numbers a state of one contract, from 0 in declaration order.
type StateID uint16

// MsgID numbers a message of one contract, from 0 in declaration order.
type MsgID uint16

// NoState is returned by Step when a message is not allowed.
const NoState StateID = 0xFFFF

// Set is the compiled form of one contract file: its contracts, in
// declaration order, with endpoint fields resolved to the contracts they
// carry. Immutable.
type Set struct {
	contracts []*Contract
}

// Len returns the number of contracts in s.
func (s *Set) Len() int { return len(s.contracts) }

// At returns the i'th contract in declaration order.
func (s *Set) At(i int) *Contract { return s.contracts[i] }

// Lookup returns the contract called name, or nil.
func (s *Set) Lookup(name string) *Contract {
	for _, c := range s.contracts {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Contract is one compiled contract: a deterministic state machine over
// (state, side, message). Immutable; safe for concurrent use.
type Contract struct {
	name    string
	msgs    []Message
	states  []state
	initial StateID
	// next[s*len(msgs)+m] is the state after message m in state s, or
	// NoState. Which side may send in s is states[s].sender: a state is
	// never mixed, so one side decides every transition out of it.
	next []StateID
	// fingerprint identifies the contract's wire behaviour; see Fingerprint.
	fingerprint [32]byte
}

type state struct {
	name   string
	final  bool
	sender Side
	trans  []Transition
}

// Transition is one way out of a state: Msg, sent by the state's sender,
// leads to Next.
type Transition struct {
	Msg  MsgID
	Next StateID
}

// Name returns the contract's name.
func (c *Contract) Name() string { return c.name }

// Fingerprint is a SHA-256 over the SHA-256s of the contract's normalised
// source (String) and of every contract reachable from it through endpoint
// fields. Two
// contracts with equal fingerprints have the same names, message and state
// numbering, field layouts and transitions, wherever they were compiled: a
// name service can compare a client's contract (or the one its generated
// stubs were built from) with the server's.
func (c *Contract) Fingerprint() [32]byte { return c.fingerprint }

// Initial returns the state a new channel starts in.
func (c *Contract) Initial() StateID { return c.initial }

// NumStates returns the number of states; StateIDs run from 0 to
// NumStates()-1.
func (c *Contract) NumStates() int { return len(c.states) }

// NumMessages returns the number of messages; MsgIDs run from 0 to
// NumMessages()-1.
func (c *Contract) NumMessages() int { return len(c.msgs) }

// Step returns the state that follows when side from sends msg in state s,
// and ok=false (with NoState) when the contract does not allow that message
// from that side in that state, or when s or msg is out of range. It is the
// kernel's check on every send and allocates nothing.
func (c *Contract) Step(s StateID, from Side, msg MsgID) (next StateID, ok bool) {
	if int(s) >= len(c.states) || int(msg) >= len(c.msgs) || c.states[s].sender != from {
		return NoState, false
	}
	next = c.next[int(s)*len(c.msgs)+int(msg)]
	return next, next != NoState
}

// Final reports whether s is a final state: one where the channel may be
// closed without breaking the contract. It returns false for an
// out-of-range s.
func (c *Contract) Final(s StateID) bool {
	return int(s) < len(c.states) && c.states[s].final
}

// Sender returns the side that may send in state s, or NoSide when nobody
// may (a final state with no transitions, or an out-of-range s). The other
// side may only receive in s.
func (c *Contract) Sender(s StateID) Side {
	if int(s) >= len(c.states) {
		return NoSide
	}
	return c.states[s].sender
}

// StateName returns the name of state s as declared.
func (c *Contract) StateName(s StateID) string { return c.states[s].name }

// StateByName returns the ID of the state called name.
func (c *Contract) StateByName(name string) (StateID, bool) {
	for i := range c.states {
		if c.states[i].name == name {
			return StateID(i), true
		}
	}
	return NoState, false
}

// Transitions returns the ways out of state s in declaration order, as a
// fresh slice (for generators and tools; the kernel uses Step).
func (c *Contract) Transitions(s StateID) []Transition {
	return append([]Transition(nil), c.states[s].trans...)
}

// Message returns message id. It panics if id is out of range.
func (c *Contract) Message(id MsgID) *Message { return &c.msgs[id] }

// MessageByName returns the message called name, or nil.
func (c *Contract) MessageByName(name string) *Message {
	for i := range c.msgs {
		if c.msgs[i].name == name {
			return &c.msgs[i]
		}
	}
	return nil
}

// String renders the contract in the source syntax, normalised: one
// declaration per line, messages before states. Compiling the output gives
// an equivalent contract.
func (c *Contract) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "contract %s {\n", c.name)
	for i := range c.msgs {
		fmt.Fprintf(&b, "\t%s\n", c.msgs[i].String())
	}
	for i, s := range c.states {
		b.WriteString("\t")
		if StateID(i) == c.initial {
			b.WriteString("initial ")
		}
		if s.final {
			b.WriteString("final ")
		}
		fmt.Fprintf(&b, "state %s {", s.name)
		for _, t := range s.trans {
			fmt.Fprintf(&b, " %s %s -> %s", s.sender, c.msgs[t.Msg].name, c.states[t.Next].name)
		}
		if len(s.trans) > 0 {
			b.WriteString(" ")
		}
		b.WriteString("}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Message is one message of a contract: its name, its ID and the layout of
// its fields. Immutable.
type Message struct {
	id       MsgID
	name     string
	contract *Contract
	fields   []Field
	minSize  int // encoded size with every string and bytes field empty
}

// Field is one typed field of a message, in declaration order.
type Field struct {
	Name string
	Kind Kind
	// For KindEndpoint: which end of a channel of which contract the field
	// carries (imp<C> is the importer's end, exp<C> the exporter's).
	Side     Side
	Contract *Contract
}

// TypeString renders the field's type as written in source.
func (f Field) TypeString() string {
	if f.Kind == KindEndpoint {
		return fmt.Sprintf("%s<%s>", f.Side, f.Contract.name)
	}
	return f.Kind.String()
}

// ID returns the message's number in its contract.
func (m *Message) ID() MsgID { return m.id }

// Name returns the message's name.
func (m *Message) Name() string { return m.name }

// Contract returns the contract that declares m.
func (m *Message) Contract() *Contract { return m.contract }

// NumFields returns the number of fields.
func (m *Message) NumFields() int { return len(m.fields) }

// Field returns field i (in declaration order).
func (m *Message) Field(i int) Field { return m.fields[i] }

// MinSize returns the smallest valid encoding's length in bytes: every
// fixed-size field plus a length word for each string and bytes field.
func (m *Message) MinSize() int { return m.minSize }

// String renders the message declaration in source syntax.
func (m *Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "msg %s(", m.name)
	for i, f := range m.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", f.Name, f.TypeString())
	}
	b.WriteString(")")
	return b.String()
}
