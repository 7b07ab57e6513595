//go:build !wasip1

package guest

import "unsafe"

// Outside a SIP there is no module "isle": every call fails with ErrNoSys.
// These stand-ins let the package (and generated stubs) build and be vetted
// on the host.

func channelCreate(src unsafe.Pointer, srcLen uint32, name unsafe.Pointer, nameLen uint32, imp, exp unsafe.Pointer) uint32 {
	return uint32(ErrNoSys)
}
func send(ep, msg uint32, payload unsafe.Pointer, n uint32, blocks unsafe.Pointer, nblocks uint32) uint32 {
	return uint32(ErrNoSys)
}
func recv(ep uint32, buf unsafe.Pointer, capacity uint32, info unsafe.Pointer, flags uint32) uint32 {
	return uint32(ErrNoSys)
}
func recvAny(eps unsafe.Pointer, n uint32, buf unsafe.Pointer, capacity uint32, info unsafe.Pointer, flags uint32) uint32 {
	return uint32(ErrNoSys)
}
func closeHandle(h uint32) uint32                                   { return uint32(ErrNoSys) }
func blockAlloc(size uint32, h unsafe.Pointer) uint32               { return uint32(ErrNoSys) }
func blockSize(h uint32, size unsafe.Pointer) uint32                { return uint32(ErrNoSys) }
func blockRead(h, off uint32, buf unsafe.Pointer, n uint32) uint32  { return uint32(ErrNoSys) }
func blockWrite(h, off uint32, buf unsafe.Pointer, n uint32) uint32 { return uint32(ErrNoSys) }
func register(name unsafe.Pointer, nameLen uint32, src unsafe.Pointer, srcLen uint32, cname unsafe.Pointer, cnameLen uint32, l unsafe.Pointer) uint32 {
	return uint32(ErrNoSys)
}
func lookup(name unsafe.Pointer, nameLen uint32, src unsafe.Pointer, srcLen uint32, cname unsafe.Pointer, cnameLen uint32, ep unsafe.Pointer) uint32 {
	return uint32(ErrNoSys)
}
