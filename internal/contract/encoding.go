package contract

// The binary encoding of a message's fields (docs/contracts.md, "Encoding").
//
// A payload is the message's fields concatenated in declaration order, with
// no padding, no field names and no message ID (the ID travels beside the
// payload, in the channel's message header):
//
//	i32, u32      4 bytes, little-endian (i32 in two's complement)
//	i64, u64      8 bytes, little-endian
//	f64           8 bytes, the IEEE 754 bits, little-endian; any bits allowed
//	bool          1 byte, 0 or 1; anything else is invalid
//	string        u32 length n, then n bytes of valid UTF-8
//	bytes         u32 length n, then n bytes
//	imp<C>/exp<C> u32: an index into the sender's handle table
//
// A payload is valid when it holds exactly the fields: nothing missing,
// nothing left over.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Handle names an endpoint in a SIP's handle table. In a payload an
// endpoint field holds the sender's handle; the kernel moves the endpoint
// and rewrites the field to the receiver's handle.
type Handle uint32

// Errors a payload can fail with, wrapped in a *FieldError.
var (
	ErrTruncated = errors.New("payload truncated")
	ErrTrailing  = errors.New("bytes after the last field")
	ErrBadBool   = errors.New("bool is neither 0 nor 1")
	ErrBadUTF8   = errors.New("string is not valid UTF-8")
)

// FieldError says which field of which message a payload is wrong at.
type FieldError struct {
	Msg    string // message name
	Field  int    // field index; NumFields() for ErrTrailing
	Name   string // field name; "" for ErrTrailing
	Offset int    // byte offset in the payload where the field starts
	Err    error  // one of the Err* values
}

func (e *FieldError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("message %s: offset %d: %v", e.Msg, e.Offset, e.Err)
	}
	return fmt.Sprintf("message %s: field %s at offset %d: %v", e.Msg, e.Name, e.Offset, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

func (m *Message) fieldError(i, off int, err error) error {
	e := &FieldError{Msg: m.name, Field: i, Offset: off, Err: err}
	if i < len(m.fields) {
		e.Name = m.fields[i].Name
	}
	return e
}

// EndpointRef locates one endpoint field in a payload, so the kernel can
// move the endpoint the sender named and rewrite the field in place with
// the receiver's handle (binary.LittleEndian.PutUint32(payload[Offset:], h)).
type EndpointRef struct {
	Field  int    // index of the field; Message.Field(Field) gives its contract and side
	Offset int    // byte offset of the 4-byte handle in the payload
	Handle Handle // the handle as the sender wrote it
}

// CheckFields validates payload against m's field layout and appends to
// refs one EndpointRef per endpoint field, in field order, returning the
// extended slice. It does not allocate when the payload is valid and refs
// has room; it does not check that handles are live (the kernel does, with
// the refs). On failure the error is a *FieldError and refs is returned
// with whatever was appended before the bad field.
func (m *Message) CheckFields(payload []byte, refs []EndpointRef) ([]EndpointRef, error) {
	off := 0
	for i := range m.fields {
		k := m.fields[i].Kind
		if size := k.Size(); size > 0 {
			if len(payload)-off < size {
				return refs, m.fieldError(i, off, ErrTruncated)
			}
			switch k {
			case KindBool:
				if payload[off] > 1 {
					return refs, m.fieldError(i, off, ErrBadBool)
				}
			case KindEndpoint:
				refs = append(refs, EndpointRef{Field: i, Offset: off, Handle: Handle(binary.LittleEndian.Uint32(payload[off:]))})
			}
			off += size
			continue
		}
		// string or bytes: a length word, then the content.
		if len(payload)-off < 4 {
			return refs, m.fieldError(i, off, ErrTruncated)
		}
		n := binary.LittleEndian.Uint32(payload[off:])
		if uint64(len(payload)-off-4) < uint64(n) {
			return refs, m.fieldError(i, off, ErrTruncated)
		}
		content := payload[off+4 : off+4+int(n)]
		if k == KindString && !utf8.Valid(content) {
			return refs, m.fieldError(i, off, ErrBadUTF8)
		}
		off += 4 + int(n)
	}
	if off != len(payload) {
		return refs, m.fieldError(len(m.fields), off, ErrTrailing)
	}
	return refs, nil
}

// Encode appends the encoding of vals, one per field in order, to dst.
// Each value's Go type must match its field: int32, int64, uint32, uint64,
// float64, bool, string, []byte and Handle (for endpoint fields); an int is
// accepted for any integer field whose range holds it. A string must be
// valid UTF-8, so that what Encode produces always passes CheckFields.
func (m *Message) Encode(dst []byte, vals ...any) ([]byte, error) {
	if len(vals) != len(m.fields) {
		return dst, fmt.Errorf("message %s has %d fields, got %d values", m.name, len(m.fields), len(vals))
	}
	for i, v := range vals {
		f := &m.fields[i]
		v, err := m.fromInt(f, v)
		if err != nil {
			return dst, err
		}
		if dst, err = m.appendField(dst, f, v); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// fromInt converts a Go int for an integer field to the field's type, or
// refuses it when it does not fit or the field is not an integer; any other
// value is returned as it is.
func (m *Message) fromInt(f *Field, v any) (any, error) {
	n, ok := v.(int)
	if !ok {
		return v, nil
	}
	var fits bool
	switch f.Kind {
	case KindI32:
		fits = n >= math.MinInt32 && n <= math.MaxInt32
		v = int32(n)
	case KindI64:
		fits, v = true, int64(n)
	case KindU32:
		fits = n >= 0 && uint64(n) <= math.MaxUint32
		v = uint32(n)
	case KindU64:
		fits, v = n >= 0, uint64(n)
	default:
		return v, m.badType(f, v)
	}
	if !fits {
		return v, fmt.Errorf("message %s: field %s is %s, %d does not fit", m.name, f.Name, f.Kind, n)
	}
	return v, nil
}

func (m *Message) badType(f *Field, v any) error {
	return fmt.Errorf("message %s: field %s is %s, got %T", m.name, f.Name, f.TypeString(), v)
}

// appendField appends field f's encoding of v, which must have the Go type
// of f's kind.
func (m *Message) appendField(dst []byte, f *Field, v any) ([]byte, error) {
	le := binary.LittleEndian
	switch x := v.(type) {
	case int32:
		if f.Kind == KindI32 {
			return le.AppendUint32(dst, uint32(x)), nil
		}
	case uint32:
		if f.Kind == KindU32 {
			return le.AppendUint32(dst, x), nil
		}
	case int64:
		if f.Kind == KindI64 {
			return le.AppendUint64(dst, uint64(x)), nil
		}
	case uint64:
		if f.Kind == KindU64 {
			return le.AppendUint64(dst, x), nil
		}
	case float64:
		if f.Kind == KindF64 {
			return le.AppendUint64(dst, math.Float64bits(x)), nil
		}
	case bool:
		if f.Kind == KindBool {
			if x {
				return append(dst, 1), nil
			}
			return append(dst, 0), nil
		}
	case string:
		if f.Kind == KindString {
			if !utf8.ValidString(x) {
				return dst, fmt.Errorf("message %s: field %s: %w", m.name, f.Name, ErrBadUTF8)
			}
			if uint64(len(x)) > math.MaxUint32 {
				return dst, fmt.Errorf("message %s: field %s: string too long", m.name, f.Name)
			}
			return append(le.AppendUint32(dst, uint32(len(x))), x...), nil
		}
	case []byte:
		if f.Kind == KindBytes {
			if uint64(len(x)) > math.MaxUint32 {
				return dst, fmt.Errorf("message %s: field %s: bytes too long", m.name, f.Name)
			}
			return append(le.AppendUint32(dst, uint32(len(x))), x...), nil
		}
	case Handle:
		if f.Kind == KindEndpoint {
			return le.AppendUint32(dst, uint32(x)), nil
		}
	}
	if f.Kind == KindInvalid || f.Kind > KindEndpoint {
		panic(fmt.Sprintf("contract: field %s of message %s has kind %v", f.Name, m.name, f.Kind))
	}
	return dst, m.badType(f, v)
}

// Decode validates payload like CheckFields and returns its fields as Go
// values of the types Encode takes (int32, int64, uint32, uint64, float64,
// bool, string, []byte, Handle). Strings and byte slices are copies.
func (m *Message) Decode(payload []byte) ([]any, error) {
	if _, err := m.CheckFields(payload, nil); err != nil {
		return nil, err
	}
	vals := make([]any, len(m.fields))
	off := 0
	for i := range m.fields {
		p := payload[off:]
		switch m.fields[i].Kind {
		case KindI32:
			vals[i] = int32(binary.LittleEndian.Uint32(p))
		case KindU32:
			vals[i] = binary.LittleEndian.Uint32(p)
		case KindI64:
			vals[i] = int64(binary.LittleEndian.Uint64(p))
		case KindU64:
			vals[i] = binary.LittleEndian.Uint64(p)
		case KindF64:
			vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		case KindBool:
			vals[i] = p[0] == 1
		case KindEndpoint:
			vals[i] = Handle(binary.LittleEndian.Uint32(p))
		case KindString, KindBytes:
			n := int(binary.LittleEndian.Uint32(p))
			if m.fields[i].Kind == KindString {
				vals[i] = string(p[4 : 4+n])
			} else {
				vals[i] = append([]byte{}, p[4:4+n]...)
			}
			off += 4 + n
			continue
		}
		off += m.fields[i].Kind.Size()
	}
	return vals, nil
}
