package urpcbench

import "unsafe"

// alignedLines allocates n raw lines starting on a 64-byte boundary.
func alignedLines(n int) []rawLine {
	raw := make([]rawLine, n+1)
	off := (64 - uintptr(unsafe.Pointer(&raw[0]))%64) % 64
	return unsafe.Slice((*rawLine)(unsafe.Add(unsafe.Pointer(&raw[0]), off)), n)
}
