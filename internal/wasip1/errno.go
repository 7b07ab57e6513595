// Package wasip1 is WASI preview 1's numbers, written once for both sides
// of the personality: the calls that a SIP makes (internal/wasi) and the
// services and loader that answer them (internal/service,
// internal/procapi). It holds the errno values, the small layouts they
// exchange (file types, whence, open, fd, lookup and set-times flags, the
// sizes of a filestat and a dirent), and the one mapping of the host's
// errno to WASI's. The values are those of wasi_snapshot_preview1's witx
// (typenames.witx); errno_test.go checks each against the specification's
// table and, where wasi-libc is installed, against its <wasi/api.h>.
//
// It imports nothing of isle's: a leaf.
package wasip1

import (
	"errors"
	"strings"
	"syscall"
)

// Errno is a WASI error number (wasi_snapshot_preview1 `errno`, a u16).
type Errno uint16

// The errno values of WASI preview 1, as the specification names and
// numbers them.
const (
	ErrnoSuccess        Errno = 0  // No error occurred. System call completed successfully.
	Errno2big           Errno = 1  // Argument list too long.
	ErrnoAcces          Errno = 2  // Permission denied.
	ErrnoAddrinuse      Errno = 3  // Address in use.
	ErrnoAddrnotavail   Errno = 4  // Address not available.
	ErrnoAfnosupport    Errno = 5  // Address family not supported.
	ErrnoAgain          Errno = 6  // Resource unavailable, or operation would block.
	ErrnoAlready        Errno = 7  // Connection already in progress.
	ErrnoBadf           Errno = 8  // Bad file descriptor.
	ErrnoBadmsg         Errno = 9  // Bad message.
	ErrnoBusy           Errno = 10 // Device or resource busy.
	ErrnoCanceled       Errno = 11 // Operation canceled.
	ErrnoChild          Errno = 12 // No child processes.
	ErrnoConnaborted    Errno = 13 // Connection aborted.
	ErrnoConnrefused    Errno = 14 // Connection refused.
	ErrnoConnreset      Errno = 15 // Connection reset.
	ErrnoDeadlk         Errno = 16 // Resource deadlock would occur.
	ErrnoDestaddrreq    Errno = 17 // Destination address required.
	ErrnoDom            Errno = 18 // Mathematics argument out of domain of function.
	ErrnoDquot          Errno = 19 // Reserved.
	ErrnoExist          Errno = 20 // File exists.
	ErrnoFault          Errno = 21 // Bad address.
	ErrnoFbig           Errno = 22 // File too large.
	ErrnoHostunreach    Errno = 23 // Host is unreachable.
	ErrnoIdrm           Errno = 24 // Identifier removed.
	ErrnoIlseq          Errno = 25 // Illegal byte sequence.
	ErrnoInprogress     Errno = 26 // Operation in progress.
	ErrnoIntr           Errno = 27 // Interrupted function.
	ErrnoInval          Errno = 28 // Invalid argument.
	ErrnoIo             Errno = 29 // I/O error.
	ErrnoIsconn         Errno = 30 // Socket is connected.
	ErrnoIsdir          Errno = 31 // Is a directory.
	ErrnoLoop           Errno = 32 // Too many levels of symbolic links.
	ErrnoMfile          Errno = 33 // File descriptor value too large.
	ErrnoMlink          Errno = 34 // Too many links.
	ErrnoMsgsize        Errno = 35 // Message too large.
	ErrnoMultihop       Errno = 36 // Reserved.
	ErrnoNametoolong    Errno = 37 // Filename too long.
	ErrnoNetdown        Errno = 38 // Network is down.
	ErrnoNetreset       Errno = 39 // Connection aborted by network.
	ErrnoNetunreach     Errno = 40 // Network unreachable.
	ErrnoNfile          Errno = 41 // Too many files open in system.
	ErrnoNobufs         Errno = 42 // No buffer space available.
	ErrnoNodev          Errno = 43 // No such device.
	ErrnoNoent          Errno = 44 // No such file or directory.
	ErrnoNoexec         Errno = 45 // Executable file format error.
	ErrnoNolck          Errno = 46 // No locks available.
	ErrnoNolink         Errno = 47 // Reserved.
	ErrnoNomem          Errno = 48 // Not enough space.
	ErrnoNomsg          Errno = 49 // No message of the desired type.
	ErrnoNoprotoopt     Errno = 50 // Protocol not available.
	ErrnoNospc          Errno = 51 // No space left on device.
	ErrnoNosys          Errno = 52 // Function not supported.
	ErrnoNotconn        Errno = 53 // The socket is not connected.
	ErrnoNotdir         Errno = 54 // Not a directory or a symbolic link to a directory.
	ErrnoNotempty       Errno = 55 // Directory not empty.
	ErrnoNotrecoverable Errno = 56 // State not recoverable.
	ErrnoNotsock        Errno = 57 // Not a socket.
	ErrnoNotsup         Errno = 58 // Not supported, or operation not supported on socket.
	ErrnoNotty          Errno = 59 // Inappropriate I/O control operation.
	ErrnoNxio           Errno = 60 // No such device or address.
	ErrnoOverflow       Errno = 61 // Value too large to be stored in data type.
	ErrnoOwnerdead      Errno = 62 // Previous owner died.
	ErrnoPerm           Errno = 63 // Operation not permitted.
	ErrnoPipe           Errno = 64 // Broken pipe.
	ErrnoProto          Errno = 65 // Protocol error.
	ErrnoProtonosupport Errno = 66 // Protocol not supported.
	ErrnoPrototype      Errno = 67 // Protocol wrong type for socket.
	ErrnoRange          Errno = 68 // Result too large.
	ErrnoRofs           Errno = 69 // Read-only file system.
	ErrnoSpipe          Errno = 70 // Invalid seek.
	ErrnoSrch           Errno = 71 // No such process.
	ErrnoStale          Errno = 72 // Reserved.
	ErrnoTimedout       Errno = 73 // Connection timed out.
	ErrnoTxtbsy         Errno = 74 // Text file busy.
	ErrnoXdev           Errno = 75 // Cross-device link.
	ErrnoNotcapable     Errno = 76 // Extension: Capabilities insufficient.
)

// errnoNames is every errno's name, in order of value, as the
// specification spells it.
const errnoNames = "success 2big acces addrinuse addrnotavail afnosupport again already badf badmsg busy canceled child connaborted connrefused connreset deadlk destaddrreq dom dquot exist fault fbig hostunreach idrm ilseq inprogress intr inval io isconn isdir loop mfile mlink msgsize multihop nametoolong netdown netreset netunreach nfile nobufs nodev noent noexec nolck nolink nomem nomsg noprotoopt nospc nosys notconn notdir notempty notrecoverable notsock notsup notty nxio overflow ownerdead perm pipe proto protonosupport prototype range rofs spipe srch stale timedout txtbsy xdev notcapable"

// String is the errno's name as C spells it ("EBADF"), or "errno(N)" for a
// value WASI does not define.
func (e Errno) String() string {
	rest := errnoNames
	for range e {
		_, after, ok := strings.Cut(rest, " ")
		if !ok {
			return "errno(" + itoa(uint16(e)) + ")"
		}
		rest = after
	}
	name, _, _ := strings.Cut(rest, " ")
	return "E" + strings.ToUpper(name)
}

func itoa(v uint16) string {
	var b [5]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// FromError is FromHost of the host errno that err wraps; ok is false when
// it wraps none or one WASI has no name for.
func FromError(err error) (e Errno, ok bool) {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return 0, false
	}
	return FromHost(en)
}

// FromHost maps the host's errno to WASI's; ok is false for one that WASI
// has no name for (the caller picks its fallback, EIO for a file call).
// The host's EMFILE is the process's limit, so the machine's, not a SIP's:
// it is ENFILE, and EMFILE stays for a SIP's own quota (service/hostfds.go).
// A switch, so that the package holds no mutable table.
func FromHost(en syscall.Errno) (e Errno, ok bool) {
	switch en {
	case syscall.EACCES:
		return ErrnoAcces, true
	case syscall.EAGAIN:
		return ErrnoAgain, true
	case syscall.EBADF:
		return ErrnoBadf, true
	case syscall.EBUSY:
		return ErrnoBusy, true
	case syscall.ECONNRESET:
		return ErrnoConnreset, true
	case syscall.EDQUOT:
		return ErrnoDquot, true
	case syscall.EEXIST:
		return ErrnoExist, true
	case syscall.EFAULT:
		return ErrnoFault, true
	case syscall.EFBIG:
		return ErrnoFbig, true
	case syscall.EINVAL:
		return ErrnoInval, true
	case syscall.EIO:
		return ErrnoIo, true
	case syscall.EISDIR:
		return ErrnoIsdir, true
	case syscall.ELOOP:
		return ErrnoLoop, true
	case syscall.EMFILE, syscall.ENFILE:
		return ErrnoNfile, true
	case syscall.EMLINK:
		return ErrnoMlink, true
	case syscall.ENAMETOOLONG:
		return ErrnoNametoolong, true
	case syscall.ENOENT:
		return ErrnoNoent, true
	case syscall.ENOMEM:
		return ErrnoNomem, true
	case syscall.ENOSPC:
		return ErrnoNospc, true
	case syscall.ENOSYS:
		return ErrnoNosys, true
	case syscall.ENOTCONN:
		return ErrnoNotconn, true
	case syscall.ENOTDIR:
		return ErrnoNotdir, true
	case syscall.ENOTEMPTY:
		return ErrnoNotempty, true
	case syscall.ENOTSUP:
		return ErrnoNotsup, true
	case syscall.EOVERFLOW:
		return ErrnoOverflow, true
	case syscall.EPERM:
		return ErrnoPerm, true
	case syscall.EPIPE:
		return ErrnoPipe, true
	case syscall.EROFS:
		return ErrnoRofs, true
	case syscall.ESPIPE:
		return ErrnoSpipe, true
	case syscall.ETXTBSY:
		return ErrnoTxtbsy, true
	case syscall.EXDEV:
		return ErrnoXdev, true
	}
	return 0, false
}
