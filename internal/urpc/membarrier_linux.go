package urpc

import "golang.org/x/sys/unix"

// membarrier(2) commands.
const (
	membarrierPrivateExpedited         = 1 << 3
	membarrierRegisterPrivateExpedited = 1 << 4
)

// registerMembarrier registers the process for expedited private
// membarriers and reports whether the kernel offers them.
func registerMembarrier() bool {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierRegisterPrivateExpedited, 0, 0)
	return errno == 0
}

// membarrier makes every thread of the process that is running on another
// CPU execute a full memory barrier before it returns; threads that are not
// running pass through one when they are switched back in.
func membarrier() {
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierPrivateExpedited, 0, 0); errno != 0 {
		panic("urpc: membarrier failed after registration: " + errno.Error())
	}
}
