//go:build wasip1

package guest

import "unsafe"

// The host functions of module "isle" (internal/abi's Table). Every one
// returns 0 or an error code.

//go:wasmimport isle channel_create
func channelCreate(src unsafe.Pointer, srcLen uint32, name unsafe.Pointer, nameLen uint32, imp, exp unsafe.Pointer) uint32

//go:wasmimport isle send
func send(ep, msg uint32, payload unsafe.Pointer, n uint32, blocks unsafe.Pointer, nblocks uint32) uint32

//go:wasmimport isle recv
func recv(ep uint32, buf unsafe.Pointer, capacity uint32, info unsafe.Pointer, flags uint32) uint32

//go:wasmimport isle recv_any
func recvAny(eps unsafe.Pointer, n uint32, buf unsafe.Pointer, capacity uint32, info unsafe.Pointer, flags uint32) uint32

//go:wasmimport isle close
func closeHandle(h uint32) uint32

//go:wasmimport isle block_alloc
func blockAlloc(size uint32, h unsafe.Pointer) uint32

//go:wasmimport isle block_size
func blockSize(h uint32, size unsafe.Pointer) uint32

//go:wasmimport isle block_read
func blockRead(h, off uint32, buf unsafe.Pointer, n uint32) uint32

//go:wasmimport isle block_write
func blockWrite(h, off uint32, buf unsafe.Pointer, n uint32) uint32

//go:wasmimport isle register
func register(name unsafe.Pointer, nameLen uint32, src unsafe.Pointer, srcLen uint32, cname unsafe.Pointer, cnameLen uint32, l unsafe.Pointer) uint32

//go:wasmimport isle lookup
func lookup(name unsafe.Pointer, nameLen uint32, src unsafe.Pointer, srcLen uint32, cname unsafe.Pointer, cnameLen uint32, ep unsafe.Pointer) uint32
