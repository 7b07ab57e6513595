package contract

// The syntax tree of a contract file, as written: names are not resolved and
// nothing is checked. Check resolves and checks it; Compile turns a clean
// one into the runtime form (Set, Contract, Message).

// File is one parsed contract file. Its contracts may refer to each other
// (an endpoint field may carry an endpoint of any contract in the file).
type File struct {
	Name      string // as given to ParseFile; used in diagnostics
	Contracts []*ContractDecl
}

// Ident is a name and where it was written.
type Ident struct {
	Pos  Pos
	Name string
}

// ContractDecl is `contract Name { ... }`.
type ContractDecl struct {
	Pos    Pos // of the word "contract"
	Name   Ident
	Msgs   []*MsgDecl
	States []*StateDecl
}

// MsgDecl is `msg Name(field type, ...)`; the parentheses may be left out
// when there are no fields.
type MsgDecl struct {
	Pos    Pos // of the word "msg"
	Name   Ident
	Fields []*FieldDecl
}

// FieldDecl is one `name type` in a message's field list.
type FieldDecl struct {
	Name Ident
	Type TypeExpr
}

// TypeExpr is a field's type: a scalar such as `i32` or `string` (Name
// only), or an endpoint `imp<C>` / `exp<C>` (Name is "imp" or "exp" and
// Contract names C).
type TypeExpr struct {
	Name     Ident
	Contract *Ident // nil for a scalar type
}

// StateDecl is `[initial] [final] state Name { transitions }`.
type StateDecl struct {
	Pos         Pos // of the first word of the declaration
	Name        Ident
	Initial     bool
	Final       bool
	Transitions []*TransitionDecl
}

// TransitionDecl is `imp Msg -> Next` or `exp Msg -> Next`: in this state the
// importer (exporter) may send Msg, after which the channel is in Next.
type TransitionDecl struct {
	Pos  Pos // of the side word
	Side Side
	Msg  Ident
	Next Ident
}
