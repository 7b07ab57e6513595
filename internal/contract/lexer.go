package contract

// The lexer turns source bytes into tokens. Words are all identifiers:
// contract, msg, state, initial, final, imp and exp are keywords only where
// the grammar expects them, so a field may be called "state" and a message
// "final". Whitespace, including newlines, only separates tokens. Comments
// run from "//" to the end of the line.

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tLBrace // {
	tRBrace // }
	tLParen // (
	tRParen // )
	tLess   // <
	tMore   // >
	tComma  // ,
	tArrow  // ->
)

func (k tokKind) String() string {
	switch k {
	case tIdent:
		return "identifier"
	case tLBrace:
		return "'{'"
	case tRBrace:
		return "'}'"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tLess:
		return "'<'"
	case tMore:
		return "'>'"
	case tComma:
		return "','"
	case tArrow:
		return "'->'"
	}
	return "end of file"
}

type token struct {
	kind tokKind
	text string // the word, for tIdent
	pos  Pos
}

// describe names a token in an error message: the word itself for an
// identifier, the punctuation otherwise.
func (t token) describe() string {
	if t.kind == tIdent {
		return fmt.Sprintf("%q", t.text)
	}
	return t.kind.String()
}

type lexer struct {
	src       []byte
	off       int
	line, col int
	errs      func(Pos, string)
}

func newLexer(src []byte, errs func(Pos, string)) *lexer {
	l := &lexer{src: src, line: 1, col: 1, errs: errs}
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		l.advance(3) // a byte order mark is not part of the text
	}
	return l
}

// advance moves past n bytes on the current line.
func (l *lexer) advance(n int) {
	l.off += n
	l.col += n
}

func (l *lexer) newline() {
	l.off++
	l.line++
	l.col = 1
}

// next returns the next token, reporting and skipping bytes that cannot
// start one.
func (l *lexer) next() token {
	for l.off < len(l.src) {
		c := l.src[l.off]
		pos := Pos{l.line, l.col}
		switch {
		case c == '\n':
			l.newline()
			continue
		case c == ' ' || c == '\t' || c == '\r':
			l.advance(1)
			continue
		case c == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
			continue
		case c == '-' && l.off+1 < len(l.src) && l.src[l.off+1] == '>':
			l.advance(2)
			return token{kind: tArrow, pos: pos}
		}
		if k := punct(c); k != tEOF {
			l.advance(1)
			return token{kind: k, pos: pos}
		}
		r, size := utf8.DecodeRune(l.src[l.off:])
		if r == utf8.RuneError && size == 1 {
			l.errs(pos, "invalid UTF-8 encoding")
			l.advance(1)
			continue
		}
		if isIdentStart(r) {
			start := l.off
			for l.off < len(l.src) {
				r, size := utf8.DecodeRune(l.src[l.off:])
				if !isIdentStart(r) && !unicode.IsDigit(r) {
					break
				}
				l.advance(size)
			}
			return token{kind: tIdent, text: string(l.src[start:l.off]), pos: pos}
		}
		// Report the first character of a run that cannot start a token,
		// and skip the whole run (up to a space or a valid token), so that
		// "= 42" is one diagnostic, not three.
		l.errs(pos, fmt.Sprintf("unexpected character %q", r))
		l.advance(size)
		for l.off < len(l.src) {
			c := l.src[l.off]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '-' || punct(c) != tEOF {
				break
			}
			r, size := utf8.DecodeRune(l.src[l.off:])
			if isIdentStart(r) || (r == utf8.RuneError && size == 1) {
				break
			}
			l.advance(size)
		}
	}
	return token{kind: tEOF, pos: Pos{l.line, l.col}}
}

func punct(c byte) tokKind {
	switch c {
	case '{':
		return tLBrace
	case '}':
		return tRBrace
	case '(':
		return tLParen
	case ')':
		return tRParen
	case '<':
		return tLess
	case '>':
		return tMore
	case ',':
		return tComma
	}
	return tEOF
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}
