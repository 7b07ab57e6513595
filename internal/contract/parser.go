package contract

// A hand-written recursive-descent parser. The grammar (EBNF; words in
// quotes are contextual keywords, see lexer.go):
//
//	File       = { Contract } .
//	Contract   = "contract" Ident "{" { Message | State } "}" .
//	Message    = "msg" Ident [ "(" [ Field { "," Field } [ "," ] ] ")" ] .
//	Field      = Ident Type .
//	Type       = Ident | ( "imp" | "exp" ) "<" Ident ">" .
//	State      = { "initial" | "final" } "state" Ident "{" { Transition } "}" .
//	Transition = ( "imp" | "exp" ) Ident "->" Ident .
//
// On a syntax error the parser reports it and skips to a place where a
// declaration can start, so one mistake gives one diagnostic and the rest
// of the file is still read.

import "fmt"

type parser struct {
	file  string
	lex   *lexer
	tok   token
	diags []Diagnostic
	// lastErr is where the last syntax error was reported; further errors
	// at the same place are dropped, which stops cascades.
	lastErr Pos
}

// ParseFile parses src, read from the file called name, and returns its
// syntax tree with any syntax errors, sorted by position. The tree is
// returned even when there are errors; it holds what could be read. It does
// not run the checker: see Check and CheckSource.
func ParseFile(name string, src []byte) (*File, []Diagnostic) {
	p := &parser{file: name}
	p.lex = newLexer(src, p.errorAt)
	p.next()
	f := &File{Name: name}
	for p.tok.kind != tEOF {
		if p.isWord("contract") {
			f.Contracts = append(f.Contracts, p.contract())
			continue
		}
		p.errorExpected("\"contract\"")
		// Skip to the next "contract".
		for p.tok.kind != tEOF && !p.isWord("contract") {
			p.next()
		}
	}
	return f, sortDiagnostics(p.diags)
}

func (p *parser) next() { p.tok = p.lex.next() }

func (p *parser) errorAt(pos Pos, msg string) {
	if pos == p.lastErr {
		return
	}
	p.lastErr = pos
	p.diags = append(p.diags, Diagnostic{File: p.file, Pos: pos, Msg: msg})
}

func (p *parser) errorExpected(what string) {
	p.errorAt(p.tok.pos, fmt.Sprintf("expected %s, found %s", what, p.tok.describe()))
}

func (p *parser) isWord(w string) bool { return p.tok.kind == tIdent && p.tok.text == w }

// expect consumes a token of kind k, or reports an error and consumes
// nothing.
func (p *parser) expect(k tokKind) (Pos, bool) {
	pos := p.tok.pos
	if p.tok.kind != k {
		p.errorExpected(k.String())
		return pos, false
	}
	p.next()
	return pos, true
}

func (p *parser) ident(what string) (Ident, bool) {
	if p.tok.kind != tIdent {
		p.errorExpected(what)
		return Ident{Pos: p.tok.pos}, false
	}
	id := Ident{Pos: p.tok.pos, Name: p.tok.text}
	p.next()
	return id, true
}

func (p *parser) contract() *ContractDecl {
	c := &ContractDecl{Pos: p.tok.pos}
	p.next() // "contract"
	var ok bool
	if c.Name, ok = p.ident("contract name"); !ok {
		p.skipBlock()
		return c
	}
	if _, ok := p.expect(tLBrace); !ok {
		p.skipBlock()
		return c
	}
	for {
		switch {
		case p.tok.kind == tRBrace:
			p.next()
			return c
		case p.tok.kind == tEOF:
			p.errorAt(p.tok.pos, fmt.Sprintf("expected '}' to close contract %s, found end of file", c.Name.Name))
			return c
		case p.isWord("msg"):
			if m, ok := p.message(); ok {
				c.Msgs = append(c.Msgs, m)
			} else {
				p.syncDecl()
			}
		case p.isWord("state") || p.isWord("initial") || p.isWord("final"):
			if s, ok := p.state(); ok {
				c.States = append(c.States, s)
			} else {
				p.syncDecl()
			}
		case p.isWord("contract"):
			// A missing '}': let the caller start the next contract.
			p.errorAt(p.tok.pos, fmt.Sprintf("expected '}' to close contract %s, found \"contract\"", c.Name.Name))
			return c
		default:
			p.errorExpected("\"msg\", \"state\", \"initial\", \"final\" or '}'")
			p.next()
			p.syncDecl()
		}
	}
}

// skipBlock skips, after a broken contract header, to the next "contract"
// word at the outer level or to the end of the file.
func (p *parser) skipBlock() {
	depth := 0
	for p.tok.kind != tEOF {
		switch {
		case p.tok.kind == tLBrace:
			depth++
		case p.tok.kind == tRBrace:
			depth--
			if depth <= 0 {
				p.next()
				return
			}
		case depth == 0 && p.isWord("contract"):
			return
		}
		p.next()
	}
}

// syncDecl skips to a token that can continue a contract body: a word that
// starts a declaration, the contract's closing '}' or "contract". A '{ ... }'
// block on the way (a broken state's body) is skipped whole.
func (p *parser) syncDecl() {
	for {
		switch {
		case p.tok.kind == tEOF, p.tok.kind == tRBrace:
			return
		case p.isWord("msg"), p.isWord("state"), p.isWord("initial"), p.isWord("final"), p.isWord("contract"):
			return
		case p.tok.kind == tLBrace:
			p.skipBraces()
			continue
		}
		p.next()
	}
}

// skipBraces skips a balanced '{ ... }' starting at the current '{'.
func (p *parser) skipBraces() {
	depth := 0
	for p.tok.kind != tEOF {
		switch p.tok.kind {
		case tLBrace:
			depth++
		case tRBrace:
			depth--
			if depth == 0 {
				p.next()
				return
			}
		}
		p.next()
	}
}

func (p *parser) message() (*MsgDecl, bool) {
	m := &MsgDecl{Pos: p.tok.pos}
	p.next() // "msg"
	var ok bool
	if m.Name, ok = p.ident("message name"); !ok {
		return m, false
	}
	if p.tok.kind != tLParen {
		return m, true // no fields
	}
	p.next()
	for p.tok.kind != tRParen {
		f := &FieldDecl{}
		if f.Name, ok = p.ident("field name or ')'"); !ok {
			return m, false
		}
		if f.Type, ok = p.typeExpr(); !ok {
			return m, false
		}
		m.Fields = append(m.Fields, f)
		if p.tok.kind == tComma {
			p.next()
			continue
		}
		if p.tok.kind != tRParen {
			p.errorExpected("',' or ')'")
			return m, false
		}
	}
	p.next() // ')'
	return m, true
}

func (p *parser) typeExpr() (TypeExpr, bool) {
	var t TypeExpr
	var ok bool
	if t.Name, ok = p.ident("type"); !ok {
		return t, false
	}
	if (t.Name.Name == "imp" || t.Name.Name == "exp") && p.tok.kind == tLess {
		p.next()
		c, ok := p.ident("contract name")
		if !ok {
			return t, false
		}
		t.Contract = &c
		if _, ok := p.expect(tMore); !ok {
			return t, false
		}
	}
	return t, true
}

func (p *parser) state() (*StateDecl, bool) {
	s := &StateDecl{Pos: p.tok.pos}
	for !p.isWord("state") {
		w := p.tok
		switch {
		case p.isWord("initial") && !s.Initial:
			s.Initial = true
		case p.isWord("final") && !s.Final:
			s.Final = true
		case p.isWord("initial") || p.isWord("final"):
			p.errorAt(w.pos, fmt.Sprintf("%s given twice", w.text))
		default:
			p.errorExpected("\"state\"")
			return s, false
		}
		p.next()
	}
	p.next() // "state"
	var ok bool
	if s.Name, ok = p.ident("state name"); !ok {
		return s, false
	}
	if _, ok := p.expect(tLBrace); !ok {
		return s, false
	}
	for p.tok.kind != tRBrace {
		var side Side
		switch {
		case p.isWord("imp"):
			side = Importer
		case p.isWord("exp"):
			side = Exporter
		default:
			p.errorExpected("\"imp\", \"exp\" or '}'")
			p.skipToStateEnd()
			return s, true
		}
		t := &TransitionDecl{Pos: p.tok.pos, Side: side}
		p.next()
		if t.Msg, ok = p.ident("message name"); !ok {
			p.skipToStateEnd()
			return s, true
		}
		if _, ok := p.expect(tArrow); !ok {
			p.skipToStateEnd()
			return s, true
		}
		if t.Next, ok = p.ident("state name"); !ok {
			p.skipToStateEnd()
			return s, true
		}
		s.Transitions = append(s.Transitions, t)
	}
	p.next() // '}'
	return s, true
}

// skipToStateEnd skips past the '}' that ends the current state body, or
// stops before a word that starts a new declaration if the '}' is missing.
func (p *parser) skipToStateEnd() {
	for {
		switch {
		case p.tok.kind == tEOF:
			return
		case p.tok.kind == tRBrace:
			p.next()
			return
		case p.isWord("msg"), p.isWord("state"), p.isWord("initial"), p.isWord("final"), p.isWord("contract"):
			return
		}
		p.next()
	}
}
