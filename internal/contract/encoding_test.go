package contract

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const allKindsSrc = `
contract T {
  msg All(a i32, b i64, c u32, d u64, e f64, f bool, g string, h bytes, i imp<T>, j exp<T>)
  msg Str(s string)
  msg Flag(b bool)
  msg None
  initial final state S { imp All -> S imp Str -> S imp Flag -> S imp None -> S }
}
`

func allKinds(t testing.TB) *Contract { return MustCompile("t", allKindsSrc).Lookup("T") }

func TestEncodeLayout(t *testing.T) {
	m := allKinds(t).MessageByName("All")
	got, err := m.Encode(nil, int32(-2), int64(-3), uint32(4), uint64(5), 1.5, true, "hé", []byte{9}, Handle(6), Handle(0xAABBCCDD))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0xfe, 0xff, 0xff, 0xff, // a i32 -2
		0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // b i64 -3
		4, 0, 0, 0, // c u32
		5, 0, 0, 0, 0, 0, 0, 0, // d u64
		0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // e f64 1.5
		1,                           // f bool
		3, 0, 0, 0, 'h', 0xc3, 0xa9, // g string "hé"
		1, 0, 0, 0, 9, // h bytes
		6, 0, 0, 0, // i imp<T>
		0xdd, 0xcc, 0xbb, 0xaa, // j exp<T>
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got % x\nwant % x", got, want)
	}
	if m.MinSize() != 4+8+4+8+8+1+4+4+4+4 {
		t.Errorf("MinSize = %d", m.MinSize())
	}
	vals, err := m.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	wantVals := []any{int32(-2), int64(-3), uint32(4), uint64(5), 1.5, true, "hé", []byte{9}, Handle(6), Handle(0xAABBCCDD)}
	if diff := cmp.Diff(wantVals, vals); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	refs, err := m.CheckFields(got, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []EndpointRef{{Field: 8, Offset: 45, Handle: 6}, {Field: 9, Offset: 49, Handle: 0xAABBCCDD}}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
}

func TestEncodeInts(t *testing.T) {
	m := allKinds(t).MessageByName("All")
	ok := []any{-1, -1, 1, 1, 0.0, false, "", []byte(nil), Handle(0), Handle(0)}
	if _, err := m.Encode(nil, ok...); err != nil {
		t.Fatalf("int for integer fields: %v", err)
	}
	for i, v := range map[int]any{0: math.MaxInt32 + 1, 2: -1, 3: -1, 5: 1} {
		vals := append([]any(nil), ok...)
		vals[i] = v
		if _, err := m.Encode(nil, vals...); err == nil {
			t.Errorf("field %d: %v accepted", i, v)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	c := allKinds(t)
	tests := []struct {
		msg  string
		vals []any
	}{
		{"Str", nil},                // too few
		{"Str", []any{"a", "b"}},    // too many
		{"Str", []any{[]byte("a")}}, // wrong type
		{"Str", []any{"\xff"}},      // invalid UTF-8
		{"Flag", []any{1}},          // int is not bool
		{"All", []any{int64(0), int64(0), uint32(0), uint64(0), 0.0, false, "", []byte{}, Handle(0), Handle(0)}}, // i64 for i32
		{"All", []any{int32(0), int64(0), uint32(0), uint64(0), 0.0, false, "", []byte{}, uint32(0), Handle(0)}}, // u32 for endpoint
		{"All", []any{int32(0), int64(0), uint32(0), uint64(0), 1, false, "", []byte{}, Handle(0), Handle(0)}},   // int for f64
	}
	for _, tt := range tests {
		if _, err := c.MessageByName(tt.msg).Encode(nil, tt.vals...); err == nil {
			t.Errorf("%s%v: no error", tt.msg, tt.vals)
		}
	}
}

func TestCheckFieldsErrors(t *testing.T) {
	c := allKinds(t)
	tests := []struct {
		name    string
		msg     string
		payload []byte
		err     error
		field   int
		offset  int
	}{
		{"empty for string", "Str", nil, ErrTruncated, 0, 0},
		{"short length word", "Str", []byte{1, 0, 0}, ErrTruncated, 0, 0},
		{"length past end", "Str", []byte{2, 0, 0, 0, 'a'}, ErrTruncated, 0, 0},
		{"huge length", "Str", []byte{0xff, 0xff, 0xff, 0xff, 'a'}, ErrTruncated, 0, 0},
		{"invalid UTF-8", "Str", []byte{1, 0, 0, 0, 0xff}, ErrBadUTF8, 0, 0},
		{"surrogate half", "Str", []byte{3, 0, 0, 0, 0xed, 0xa0, 0x80}, ErrBadUTF8, 0, 0},
		{"trailing after string", "Str", []byte{0, 0, 0, 0, 0}, ErrTrailing, 1, 4},
		{"bool 2", "Flag", []byte{2}, ErrBadBool, 0, 0},
		{"bool missing", "Flag", nil, ErrTruncated, 0, 0},
		{"trailing after none", "None", []byte{0}, ErrTrailing, 0, 0},
		{"truncated i64", "All", []byte{0, 0, 0, 0, 1, 2, 3}, ErrTruncated, 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := c.MessageByName(tt.msg)
			_, err := m.CheckFields(tt.payload, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Offset != tt.offset || fe.Msg != tt.msg {
				t.Errorf("err = %#v, want field %d offset %d", err, tt.field, tt.offset)
			}
			if _, err := m.Decode(tt.payload); !errors.Is(err, tt.err) {
				t.Errorf("Decode err = %v, want %v", err, tt.err)
			}
		})
	}
	if _, err := c.MessageByName("None").CheckFields(nil, nil); err != nil {
		t.Errorf("empty message: %v", err)
	}
}

// TestDocExamples keeps the examples in docs/contracts.md, "Field
// encoding", true.
func TestDocExamples(t *testing.T) {
	kv := MustCompile("kv", kvSrc).Lookup("KV")
	got, err := kv.MessageByName("Value").Encode(nil, true, []byte("hi"))
	if want := []byte{0x01, 0x02, 0, 0, 0, 0x68, 0x69}; err != nil || !bytes.Equal(got, want) {
		t.Errorf("Value(true, \"hi\") = % x, %v; want % x", got, err, want)
	}
	got, err = kv.MessageByName("Get").Encode(nil, "k")
	if want := []byte{0x01, 0, 0, 0, 0x6b}; err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get(\"k\") = % x, %v; want % x", got, err, want)
	}
}
