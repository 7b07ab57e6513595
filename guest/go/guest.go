// Package guest is what a Go program built for GOOS=wasip1 imports to use
// isle's channels: the host module "isle" (internal/abi) behind typed Go
// calls, and the field encoding that generated stubs use
// (`isle contract gen --lang go FILE`). Application code normally uses the
// generated stubs, which never make it pack bytes by hand.
//
// Handles name endpoints and exchange-heap blocks in the calling SIP only.
// Sending a message moves the endpoints in its fields and its blocks to the
// receiver: their handles are dead in the sender afterwards.
//
// Outside a SIP (any GOOS but wasip1) every call fails with ErrNoSys.
package guest

import (
	"strconv"
	"unsafe"
)

// Handle names an endpoint or a block in this SIP.
type Handle uint32

// Error is a code from module "isle" (the values of internal/ipc.Error;
// the constants are generated from internal/abi/spec in abi.go).
type Error uint32

func (e Error) Error() string {
	if t := e.text(); t != "" {
		return "isle: " + t
	}
	return "isle: error " + strconv.Itoa(int(e))
}

func errOf(code uint32) error {
	if code == 0 {
		return nil
	}
	return Error(code)
}

// Info describes a received message (struct isle_recv_info).
type Info struct {
	Msg     uint32 // message ID, or MsgClosed
	Len     uint32 // payload bytes
	Index   uint32 // RecvAny: which endpoint of the set
	Flags   uint32 // FlagBreach
	NBlocks uint32
	Blocks  [MaxBlocks]Handle // the blocks that came with the message, now this SIP's
}

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func sptr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// NewChannel creates a channel of the contract called name in the contract
// source src; both ends are the caller's.
func NewChannel(src, name string) (imp, exp Handle, err error) {
	err = errOf(channelCreate(sptr(src), uint32(len(src)), sptr(name), uint32(len(name)), unsafe.Pointer(&imp), unsafe.Pointer(&exp)))
	return
}

// Send sends message msg with an encoded payload and blocks attached.
func Send(ep Handle, msg uint32, payload []byte, blocks ...Handle) error {
	var bp unsafe.Pointer
	if len(blocks) > 0 {
		bp = unsafe.Pointer(&blocks[0])
	}
	return errOf(send(uint32(ep), msg, ptr(payload), uint32(len(payload)), bp, uint32(len(blocks))))
}

// Recv waits for the next message on ep and returns it with its payload,
// which is buf's storage when it fits and a new buffer otherwise.
func Recv(ep Handle, buf []byte) (Info, []byte, error) { return recvLoop(ep, nil, buf, 0) }

// TryRecv is Recv without waiting: ErrAgain when nothing has come.
func TryRecv(ep Handle, buf []byte) (Info, []byte, error) {
	return recvLoop(ep, nil, buf, Nonblock)
}

// RecvAny waits for a message on any endpoint of eps; Info.Index says which.
func RecvAny(eps []Handle, buf []byte) (Info, []byte, error) { return recvLoop(0, eps, buf, 0) }

func recvLoop(ep Handle, eps []Handle, buf []byte, flags uint32) (Info, []byte, error) {
	buf = buf[:cap(buf)]
	for {
		var info Info
		var code uint32
		if eps == nil {
			code = recv(uint32(ep), ptr(buf), uint32(len(buf)), unsafe.Pointer(&info), flags)
		} else if len(eps) == 0 {
			return info, nil, ErrInvalid
		} else {
			code = recvAny(unsafe.Pointer(&eps[0]), uint32(len(eps)), ptr(buf), uint32(len(buf)), unsafe.Pointer(&info), flags)
		}
		if Error(code) == ErrTooBig && int(info.Len) > len(buf) {
			buf = make([]byte, info.Len)
			continue
		}
		if code != 0 {
			return info, nil, Error(code)
		}
		return info, buf[:info.Len], nil
	}
}

// Close closes an endpoint (its peer sees Closed) or frees a block.
func Close(h Handle) error { return errOf(closeHandle(uint32(h))) }

// BlockAlloc allocates a zeroed exchange-heap block of size bytes.
func BlockAlloc(size int) (Handle, error) {
	var h Handle
	err := errOf(blockAlloc(uint32(size), unsafe.Pointer(&h)))
	return h, err
}

// BlockSize returns a block's size.
func BlockSize(h Handle) (int, error) {
	var n uint32
	err := errOf(blockSize(uint32(h), unsafe.Pointer(&n)))
	return int(n), err
}

// BlockRead copies len(buf) bytes out of block h from off.
func BlockRead(h Handle, off int, buf []byte) error {
	return errOf(blockRead(uint32(h), uint32(off), ptr(buf), uint32(len(buf))))
}

// BlockWrite copies buf into block h at off.
func BlockWrite(h Handle, off int, buf []byte) error {
	return errOf(blockWrite(uint32(h), uint32(off), ptr(buf), uint32(len(buf))))
}

// Register serves the contract cname of source src under name. Clients'
// connections arrive on the returned listener: Accept returns each one's
// exporter's end.
func Register(name, src, cname string) (Handle, error) {
	var h Handle
	err := errOf(register(sptr(name), uint32(len(name)), sptr(src), uint32(len(src)), sptr(cname), uint32(len(cname)), unsafe.Pointer(&h)))
	return h, err
}

// Accept waits for the next connection on a listener and returns the
// exporter's end of its channel.
func Accept(listener Handle) (Handle, error) {
	var b [4]byte
	info, p, err := Recv(listener, b[:])
	if err != nil {
		return 0, err
	}
	if info.Msg == MsgClosed {
		return 0, ErrClosed
	}
	d := Dec{B: p}
	return d.Handle(), nil
}

// Lookup connects to the service registered under name, which must speak
// the contract cname of source src, and returns the importer's end.
func Lookup(name, src, cname string) (Handle, error) {
	var h Handle
	err := errOf(lookup(sptr(name), uint32(len(name)), sptr(src), uint32(len(src)), sptr(cname), uint32(len(cname)), unsafe.Pointer(&h)))
	return h, err
}

// Move yields and goes on running on core (for benchmarks and tests that
// need a SIP placed after a migration; the balancer may move it again).
func Move(core int) error { return errOf(move(uint32(core))) }
