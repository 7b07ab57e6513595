package instrument

import (
	"errors"
	"fmt"

	"isle/internal/leb128"
)

// errEOF is returned when an input ends inside an item.
var errEOF = errors.New("unexpected end of input")

// reader decodes the primitive encodings of the binary format: bytes,
// LEB128 integers and length-prefixed names. It never panics; every method
// returns an error once the input is exhausted or malformed.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.pos) {
		return nil, errEOF
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes whose value fits 32 bits.
func (r *reader) u32() (uint32, error) {
	v, n, err := leb128.U32(r.b[r.pos:])
	r.pos += n
	if err != nil {
		return 0, r.lebError("u32", err)
	}
	return v, nil
}

// signed reads a signed LEB128 of at most bits bits (33 for block types, 32
// or 64 for constants).
func (r *reader) signed(bits int) (int64, error) {
	v, n, err := leb128.Signed(r.b[r.pos:], bits)
	r.pos += n
	if err != nil {
		return 0, r.lebError(fmt.Sprintf("s%d", bits), err)
	}
	return v, nil
}

// lebError says what a LEB128 decode found wrong, and where.
func (r *reader) lebError(what string, err error) error {
	switch err {
	case leb128.ErrEOF:
		return errEOF
	case leb128.ErrOverflow:
		return fmt.Errorf("%s overflow at offset %d", what, r.pos-1)
	}
	return fmt.Errorf("%s too long at offset %d", what, r.pos)
}

func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	return r.bytes(n)
}

// appendU32 appends v as an unsigned LEB128.
func appendU32(b []byte, v uint32) []byte { return leb128.AppendUnsigned(b, uint64(v)) }

// appendS64 appends v as a signed LEB128.
func appendS64(b []byte, v int64) []byte { return leb128.AppendSigned(b, v) }

// appendName appends a length-prefixed byte string.
func appendName(b []byte, s []byte) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
