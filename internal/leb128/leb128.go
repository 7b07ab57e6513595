// Package leb128 is the WebAssembly binary format's variable-length
// integers (LEB128), written once for every package that reads or writes
// modules: the rewriter (internal/sandbox/instrument), the loader's checks
// (internal/sandbox) and the hand-made test modules (internal/wasmbin).
package leb128

import "errors"

// Errors of the decoders.
var (
	ErrEOF      = errors.New("unexpected end of input")
	ErrTooLong  = errors.New("LEB128 integer too long")
	ErrOverflow = errors.New("LEB128 integer overflows its type")
)

// AppendUnsigned appends v as an unsigned LEB128.
func AppendUnsigned(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendSigned appends v as a signed LEB128.
func AppendSigned(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// U32 decodes an unsigned LEB128 of at most 5 bytes whose value fits 32
// bits from the start of b, and returns it with the bytes it took.
func U32(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, i, ErrEOF
		}
		c := b[i]
		if i == 4 && c&0xf0 != 0 {
			return 0, i + 1, ErrOverflow
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 5, ErrTooLong
}

// Signed decodes a signed LEB128 of at most bits bits (33 for block types,
// 32 or 64 for constants) from the start of b, and returns it with the
// bytes it took. The unused bits of a last byte must all be sign bits.
func Signed(b []byte, bits int) (int64, int, error) {
	var v int64
	shift := 0
	maxBytes := (bits + 6) / 7
	for i := 0; i < maxBytes; i++ {
		if i >= len(b) {
			return 0, i, ErrEOF
		}
		c := b[i]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if i == maxBytes-1 {
				used := bits - 7*(maxBytes-1) // value bits in this byte
				rest := int8(c<<1) >> 1 >> (used - 1)
				if rest != 0 && rest != -1 {
					return 0, i + 1, ErrOverflow
				}
			}
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i + 1, nil
		}
	}
	return 0, maxBytes, ErrTooLong
}
