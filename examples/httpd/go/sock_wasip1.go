package main

import "syscall"

// firstSocket returns the first fd from 3 on that is a socket (the first
// listener isle offers comes right after the preopens), or -1.
func firstSocket() int {
	for fd := 3; fd < 1024; fd++ {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err == syscall.EBADF {
			return -1
		} else if err == nil && st.Filetype == syscall.FILETYPE_SOCKET_STREAM {
			return fd
		}
	}
	return -1
}
