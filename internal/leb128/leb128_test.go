package leb128

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// TestRoundTrip: what the appenders write, the decoders read back, taking
// exactly the bytes written.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := rapid.Uint32().Draw(t, "u")
		b := AppendUnsigned(nil, uint64(u))
		if v, n, err := U32(b); err != nil || v != u || n != len(b) {
			t.Fatalf("U32(% x) = %d, %d, %v; want %d, %d", b, v, n, err, u, len(b))
		}
		s := rapid.Int64().Draw(t, "s")
		b = AppendSigned(nil, s)
		if v, n, err := Signed(b, 64); err != nil || v != s || n != len(b) {
			t.Fatalf("Signed(% x, 64) = %d, %d, %v; want %d", b, v, n, err, s)
		}
		s32 := int64(rapid.Int32().Draw(t, "s32"))
		b = AppendSigned(nil, s32)
		if v, _, err := Signed(b, 32); err != nil || v != s32 {
			t.Fatalf("Signed(% x, 32) = %d, %v; want %d", b, v, err, s32)
		}
	})
}

// TestBadInput: a cut-short integer, one past its type and one past its
// length are each refused with their error, never read as a value.
func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		bits int // 0: U32
		want error
	}{
		{"empty", nil, 0, ErrEOF},
		{"cut short", []byte{0x80, 0x80}, 0, ErrEOF},
		{"u32 past 32 bits", []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 0, ErrOverflow},
		{"u32 of 6 bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, ErrOverflow},
		{"s32 past 32 bits", []byte{0xff, 0xff, 0xff, 0xff, 0x4f}, 32, ErrOverflow},
		{"s32 of 6 bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, ErrTooLong},
		{"s64 cut short", []byte{0xff}, 64, ErrEOF},
	} {
		var err error
		if c.bits == 0 {
			_, _, err = U32(c.b)
		} else {
			_, _, err = Signed(c.b, c.bits)
		}
		if err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if v, n, err := U32([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}); err != nil || v != math.MaxUint32 || n != 5 {
		t.Errorf("the largest u32: %d, %d, %v", v, n, err)
	}
}
