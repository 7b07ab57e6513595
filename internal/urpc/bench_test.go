package urpc

import "testing"

// Single-threaded costs of the send and receive paths, without any cache
// line crossing between CPUs: what the instructions themselves cost.

func BenchmarkSendRecv(b *testing.B) {
	r := NewRing(256, NewDoorbell())
	var m Msg
	p := make([]byte, 8)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Send(1, p, nil)
		r.Recv(&m)
	}
}

func BenchmarkSendRecvFullSlot(b *testing.B) {
	r := NewRing(256, NewDoorbell())
	var m Msg
	p := make([]byte, PayloadSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Send(1, p, nil)
		r.Recv(&m)
	}
}

func BenchmarkSendRecvRef(b *testing.B) {
	r := NewRing(256, NewDoorbell())
	var m Msg
	p := make([]byte, 8)
	ref := new(int)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Send(1, p, ref)
		r.Recv(&m)
	}
}

func BenchmarkBatch32(b *testing.B) {
	r := NewRing(256, NewDoorbell())
	var m Msg
	p := make([]byte, PayloadSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i += 32 {
		for k := 0; k < 32; k++ {
			r.TrySend(1, p, nil)
		}
		r.Notify()
		for r.Recv(&m) {
		}
		r.Release()
	}
}
