package service

// The network service's requests, typed: each operation's arguments are
// named fields; Put fills a kernel.Request's slots with them, and the
// service reads them back with the matching accessor.

import (
	"encoding/binary"

	"isle/internal/kernel"
)

// Flag bits of the network requests (kernel.Request.Flags).
const (
	netNoWait    = 1 << 0 // EAGAIN instead of waiting
	netPeek      = 1 << 1 // a receive leaves what it read in the socket
	netShutRead  = 1 << 2 // a shutdown's read side
	netShutWrite = 1 << 3 // a shutdown's write side
)

// flag is bit if on, else 0.
func flag(on bool, bit uint64) uint64 {
	if on {
		return bit
	}
	return 0
}

// NetAcceptReq accepts a connection on Listener; the reply is read with
// NetAcceptedOf.
type NetAcceptReq struct {
	Listener int32
	NoWait   bool
}

// Put makes r this request.
func (a NetAcceptReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Flags = NetAccept, a.Listener, flag(a.NoWait, netNoWait)
}

func netAcceptOf(r *kernel.Request) NetAcceptReq {
	return NetAcceptReq{Listener: r.Fd, NoWait: r.Flags&netNoWait != 0}
}

// NetAccepted is an accept's result: the new connection's handle, and the
// host descriptor lent to the SIP for its inline calls (Lent, if HasLent).
type NetAccepted struct {
	Handle  int32
	Lent    int32
	HasLent bool
}

// NetAcceptedOf reads an accept's reply.
func NetAcceptedOf(r *kernel.Request) NetAccepted {
	lent, ok := LentFd(r.Off)
	return NetAccepted{Handle: int32(r.N), Lent: lent, HasLent: ok}
}

// NetRecvReq receives at most Max bytes from Conn into the request's Buf;
// the reply's N is the bytes received, 0 at the end of the stream.
type NetRecvReq struct {
	Conn   int32
	Max    int64
	Peek   bool // leave the bytes in the socket
	NoWait bool
}

// Put makes r this request.
func (a NetRecvReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.N, r.Flags = NetRecv, a.Conn, a.Max, flag(a.NoWait, netNoWait)|flag(a.Peek, netPeek)
}

func netRecvOf(r *kernel.Request) NetRecvReq {
	return NetRecvReq{Conn: r.Fd, Max: r.N, Peek: r.Flags&netPeek != 0, NoWait: r.Flags&netNoWait != 0}
}

// NetSendReq sends the request's Buf on Conn; the reply's N is the bytes
// sent.
type NetSendReq struct {
	Conn   int32
	NoWait bool
}

// Put makes r this request; r.Buf, the bytes to send, is left as it is.
func (a NetSendReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Flags = NetSend, a.Conn, flag(a.NoWait, netNoWait)
}

func netSendOf(r *kernel.Request) NetSendReq {
	return NetSendReq{Conn: r.Fd, NoWait: r.Flags&netNoWait != 0}
}

// NetShutdownReq shuts down Conn's read side, write side, or both.
type NetShutdownReq struct {
	Conn        int32
	Read, Write bool
}

// Put makes r this request.
func (a NetShutdownReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Flags = NetShutdown, a.Conn, flag(a.Read, netShutRead)|flag(a.Write, netShutWrite)
}

func netShutdownOf(r *kernel.Request) NetShutdownReq {
	return NetShutdownReq{Conn: r.Fd, Read: r.Flags&netShutRead != 0, Write: r.Flags&netShutWrite != 0}
}

// NetCloseReq closes Conn.
type NetCloseReq struct {
	Conn int32
}

// Put makes r this request.
func (a NetCloseReq) Put(r *kernel.Request) { r.Op, r.Fd = NetClose, a.Conn }

func netCloseOf(r *kernel.Request) NetCloseReq { return NetCloseReq{Conn: r.Fd} }

// NetPollReq says which of the handles that AppendNetPoll listed in the
// request's Buf are ready, waiting at most Timeout ns for one to be; the
// reply's events are read with NetPollEvent.
type NetPollReq struct {
	Timeout int64
}

// Put makes r this request, its list empty.
func (a NetPollReq) Put(r *kernel.Request) {
	r.Op, r.Off, r.Buf = NetPoll, a.Timeout, r.Buf[:0]
}

func netPollOf(r *kernel.Request) NetPollReq { return NetPollReq{Timeout: r.Off} }

// Poll interest and readiness bits (NetPoll).
const (
	NetPollRead   = 1
	NetPollWrite  = 2
	NetPollHangup = 4      // in a result only: both directions closed
	NetPollNotOne = 0xffff // in a result only: not a socket of the worker
)

// AppendNetPoll lists handle h, for the events ev (NetPollRead,
// NetPollWrite), in a NetPoll request.
func AppendNetPoll(r *kernel.Request, h int32, ev uint16) {
	r.Buf = binary.LittleEndian.AppendUint32(r.Buf, uint32(h))
	r.Buf = binary.LittleEndian.AppendUint16(r.Buf, ev)
	r.Buf = append(r.Buf, 0, 0)
}

// NetPollEvent is the ready events of the i-th handle of a NetPoll reply;
// ok false past its end.
func NetPollEvent(r *kernel.Request, i int) (ev uint16, ok bool) {
	if 2*i+2 > len(r.Buf) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(r.Buf[2*i:]), true
}

// NetCloseAllReq closes every connection AppendHandle listed in the
// request's Buf.
type NetCloseAllReq struct{}

// Put makes r this request, its list empty.
func (NetCloseAllReq) Put(r *kernel.Request) { r.Op, r.Buf = NetCloseAll, r.Buf[:0] }

// AppendHandle lists handle h in an FSCloseAll or NetCloseAll request.
func AppendHandle(r *kernel.Request, h int32) {
	r.Buf = binary.LittleEndian.AppendUint32(r.Buf, uint32(h))
}
