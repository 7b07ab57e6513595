package contract

// The checker: name resolution and the rules of docs/contracts.md. Each rule
// reports at the place a reader should look first:
//
//	duplicate contract, message, field, state   the second declaration's name
//	undefined message or state in a transition  the undefined name
//	unknown type, endpoint of undefined contract the type name / contract name
//	no initial state                            the contract's name
//	second initial state                        the second state's name
//	duplicate transition                        the second transition's side word
//	mixed state                                 the state's name
//	non-final state with no transitions         the state's name
//	state unreachable from the initial state    the state's name
//	over a limit (Max*)                         the first declaration past it

import "fmt"

// Limits on what one contract may declare, so that IDs fit their types and
// the compiled transition table stays small.
const (
	MaxMessages = 1024 // messages per contract
	MaxStates   = 1024 // states per contract
	MaxFields   = 64   // fields per message
)

// scalarKind maps the source name of a scalar type to its kind.
func scalarKind(name string) (Kind, bool) {
	for k := KindI32; k <= KindBytes; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return KindInvalid, false
}

type checker struct {
	file  string
	diags []Diagnostic
}

func (c *checker) errorf(pos Pos, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{File: c.file, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Check resolves the names in f and applies the checker's rules, returning
// the problems found sorted by position. An empty result means f compiles.
// Check does not modify f.
func Check(f *File) []Diagnostic {
	c := &checker{file: f.Name}
	contracts := map[string]*ContractDecl{}
	for _, cd := range f.Contracts {
		if prev, ok := contracts[cd.Name.Name]; ok {
			c.errorf(cd.Name.Pos, "contract %s redeclared (first declared at %s)", cd.Name.Name, prev.Name.Pos)
			continue
		}
		contracts[cd.Name.Name] = cd
	}
	for _, cd := range f.Contracts {
		c.contract(cd, contracts)
	}
	return sortDiagnostics(c.diags)
}

// CheckSource parses and checks src. The checker runs only when the file
// has no syntax errors, so that a typo does not come back as a cascade of
// undefined names.
func CheckSource(name string, src []byte) (*File, []Diagnostic) {
	f, diags := ParseFile(name, src)
	if len(diags) > 0 {
		return f, diags
	}
	return f, Check(f)
}

func (c *checker) contract(cd *ContractDecl, contracts map[string]*ContractDecl) {
	msgs := c.messages(cd, contracts)
	states, initial := c.states(cd)
	for _, s := range cd.States {
		c.transitions(cd, s, msgs, states)
	}
	if initial != nil {
		c.reachable(cd, states, initial)
	}
}

// messages checks a contract's messages and their fields, and returns them
// by name (the first of each name).
func (c *checker) messages(cd *ContractDecl, contracts map[string]*ContractDecl) map[string]*MsgDecl {
	name := cd.Name.Name
	msgs := map[string]*MsgDecl{}
	for i, m := range cd.Msgs {
		if i == MaxMessages {
			c.errorf(m.Name.Pos, "contract %s declares more than %d messages", name, MaxMessages)
		}
		if prev, ok := msgs[m.Name.Name]; ok {
			c.errorf(m.Name.Pos, "message %s redeclared in contract %s (first declared at %s)", m.Name.Name, name, prev.Name.Pos)
		} else {
			msgs[m.Name.Name] = m
		}
		fields := map[string]Pos{}
		for j, fd := range m.Fields {
			if j == MaxFields {
				c.errorf(fd.Name.Pos, "message %s has more than %d fields", m.Name.Name, MaxFields)
			}
			if prev, ok := fields[fd.Name.Name]; ok {
				c.errorf(fd.Name.Pos, "field %s redeclared in message %s (first declared at %s)", fd.Name.Name, m.Name.Name, prev)
			} else {
				fields[fd.Name.Name] = fd.Name.Pos
			}
			c.typeExpr(fd.Type, contracts)
		}
	}
	return msgs
}

// states checks a contract's states and returns them by name (the first of
// each name) with the initial one (nil if there is none).
func (c *checker) states(cd *ContractDecl) (map[string]*StateDecl, *StateDecl) {
	name := cd.Name.Name
	states := map[string]*StateDecl{}
	var initial *StateDecl
	for i, s := range cd.States {
		if i == MaxStates {
			c.errorf(s.Name.Pos, "contract %s declares more than %d states", name, MaxStates)
		}
		if prev, ok := states[s.Name.Name]; ok {
			c.errorf(s.Name.Pos, "state %s redeclared in contract %s (first declared at %s)", s.Name.Name, name, prev.Name.Pos)
		} else {
			states[s.Name.Name] = s
		}
		if s.Initial {
			if initial != nil {
				c.errorf(s.Name.Pos, "second initial state %s in contract %s (%s is initial, at %s)", s.Name.Name, name, initial.Name.Name, initial.Name.Pos)
			} else {
				initial = s
			}
		}
	}
	if initial == nil {
		c.errorf(cd.Name.Pos, "contract %s has no initial state", name)
	}
	return states, initial
}

// transitions checks the transitions out of state s.
func (c *checker) transitions(cd *ContractDecl, s *StateDecl, msgs map[string]*MsgDecl, states map[string]*StateDecl) {
	name := cd.Name.Name
	type sideMsg struct {
		side Side
		msg  string
	}
	var sides [3]*TransitionDecl // first transition seen for each side
	seen := map[sideMsg]bool{}
	for _, t := range s.Transitions {
		if t.Side != Importer && t.Side != Exporter {
			// Only a hand-built tree can get here; the parser sets one.
			c.errorf(t.Pos, "transition with no side (want imp or exp)")
			continue
		}
		if _, ok := msgs[t.Msg.Name]; !ok {
			c.errorf(t.Msg.Pos, "undefined message %s in contract %s", t.Msg.Name, name)
		}
		if _, ok := states[t.Next.Name]; !ok {
			c.errorf(t.Next.Pos, "undefined state %s in contract %s", t.Next.Name, name)
		}
		key := sideMsg{t.Side, t.Msg.Name}
		if seen[key] {
			c.errorf(t.Pos, "duplicate transition %s %s in state %s", t.Side, t.Msg.Name, s.Name.Name)
		}
		seen[key] = true
		if sides[t.Side] == nil {
			sides[t.Side] = t
		}
	}
	if imp, exp := sides[Importer], sides[Exporter]; imp != nil && exp != nil {
		c.errorf(s.Name.Pos, "mixed state %s: both the importer (imp %s at %s) and the exporter (exp %s at %s) may send",
			s.Name.Name, imp.Msg.Name, imp.Pos, exp.Msg.Name, exp.Pos)
	}
	if len(s.Transitions) == 0 && !s.Final {
		c.errorf(s.Name.Pos, "state %s has no way out and is not final", s.Name.Name)
	}
}

// reachable reports every state that no path from the initial state reaches.
func (c *checker) reachable(cd *ContractDecl, states map[string]*StateDecl, initial *StateDecl) {
	reached := map[*StateDecl]bool{initial: true}
	work := []*StateDecl{initial}
	for len(work) > 0 {
		s := work[len(work)-1]
		work = work[:len(work)-1]
		for _, t := range s.Transitions {
			if n, ok := states[t.Next.Name]; ok && !reached[n] {
				reached[n] = true
				work = append(work, n)
			}
		}
	}
	for _, s := range cd.States {
		if states[s.Name.Name] == s && !reached[s] {
			c.errorf(s.Name.Pos, "state %s is unreachable from initial state %s", s.Name.Name, initial.Name.Name)
		}
	}
}

func (c *checker) typeExpr(t TypeExpr, contracts map[string]*ContractDecl) {
	if t.Contract != nil {
		if _, ok := contracts[t.Contract.Name]; !ok {
			c.errorf(t.Contract.Pos, "endpoint of undefined contract %s", t.Contract.Name)
		}
		return
	}
	if _, ok := scalarKind(t.Name.Name); !ok {
		if t.Name.Name == "imp" || t.Name.Name == "exp" {
			c.errorf(t.Name.Pos, "endpoint type %s needs a contract: %s<Name>", t.Name.Name, t.Name.Name)
			return
		}
		c.errorf(t.Name.Pos, "unknown type %s (want i32, i64, u32, u64, f64, bool, string, bytes, imp<C> or exp<C>)", t.Name.Name)
	}
}
