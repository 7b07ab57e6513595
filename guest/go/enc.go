package guest

import (
	"encoding/binary"
	"math"
)

// The field encoding of docs/contracts.md, for generated stubs: fields
// concatenated in declaration order, little-endian, strings and bytes as a
// u32 length and the bytes, endpoints as u32 handles.

// AppendU32 and the others append one field.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
func AppendI32(b []byte, v int32) []byte  { return AppendU32(b, uint32(v)) }
func AppendI64(b []byte, v int64) []byte  { return AppendU64(b, uint64(v)) }
func AppendF64(b []byte, v float64) []byte {
	return AppendU64(b, math.Float64bits(v))
}
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
func AppendBytes(b []byte, v []byte) []byte  { return append(AppendU32(b, uint32(len(v))), v...) }
func AppendString(b []byte, v string) []byte { return append(AppendU32(b, uint32(len(v))), v...) }

// Dec reads fields from a payload the kernel has already checked against
// the message's layout, so it never runs short on a valid message; on a
// short one it returns zero values.
type Dec struct {
	B []byte
}

func (d *Dec) take(n int) []byte {
	if len(d.B) < n {
		d.B = nil
		return make([]byte, n)
	}
	v := d.B[:n]
	d.B = d.B[n:]
	return v
}

func (d *Dec) Uint32() uint32   { return binary.LittleEndian.Uint32(d.take(4)) }
func (d *Dec) Uint64() uint64   { return binary.LittleEndian.Uint64(d.take(8)) }
func (d *Dec) Int32() int32     { return int32(d.Uint32()) }
func (d *Dec) Int64() int64     { return int64(d.Uint64()) }
func (d *Dec) Float64() float64 { return math.Float64frombits(d.Uint64()) }
func (d *Dec) Bool() bool       { return d.take(1)[0] == 1 }
func (d *Dec) Handle() Handle   { return Handle(d.Uint32()) }

// Bytes returns a copy of a bytes field.
func (d *Dec) Bytes() []byte {
	n := d.Uint32()
	return append([]byte(nil), d.take(int(n))...)
}

// String returns a string field.
func (d *Dec) String() string { return string(d.take(int(d.Uint32()))) }
