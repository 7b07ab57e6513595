package service

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// WASI errno values the file-system service returns. They are WASI's
// numbers (wasi.Errno); a test in package wasi checks that they agree.
const (
	errnoAcces       = 2
	errnoAgain       = 6
	errnoBusy        = 10
	errnoDquot       = 19
	errnoExist       = 20
	errnoFault       = 21
	errnoFbig        = 22
	errnoIsdir       = 31
	errnoLoop        = 32
	errnoMlink       = 34
	errnoNametoolong = 37
	errnoNoent       = 44
	errnoNomem       = 48
	errnoNospc       = 51
	errnoNosys       = 52
	errnoNotdir      = 54
	errnoNotempty    = 55
	errnoNotsup      = 58
	errnoOverflow    = 61
	errnoPerm        = 63
	errnoRofs        = 69
	errnoSpipe       = 70
	errnoTxtbsy      = 74
	errnoXdev        = 75
)

// Errnos lists the errno constants above by name, for the test that checks
// them against package wasi.
func Errnos() map[string]uint16 {
	return map[string]uint16{
		"EACCES": errnoAcces, "EAGAIN": errnoAgain, "EBADF": errnoBadf, "EBUSY": errnoBusy,
		"EDQUOT": errnoDquot, "EEXIST": errnoExist, "EFAULT": errnoFault, "EFBIG": errnoFbig,
		"EINVAL": errnoInval, "EIO": errnoIO, "EISDIR": errnoIsdir, "ELOOP": errnoLoop,
		"EMFILE": errnoMfile, "EMLINK": errnoMlink, "ENFILE": errnoNfile, "ENAMETOOLONG": errnoNametoolong, "ENOENT": errnoNoent,
		"ENOMEM": errnoNomem, "ENOSPC": errnoNospc, "ENOSYS": errnoNosys, "ENOTDIR": errnoNotdir,
		"ENOTEMPTY": errnoNotempty, "ENOTSUP": errnoNotsup, "EOVERFLOW": errnoOverflow,
		"EPERM": errnoPerm, "EPIPE": errnoPipe, "EROFS": errnoRofs, "ESPIPE": errnoSpipe,
		"ETXTBSY": errnoTxtbsy, "EXDEV": errnoXdev,
	}
}

// wasiErrno maps the host's errno to WASI's; ok is false for one WASI has
// no better name for (the caller answers EIO). A switch, so that the
// package holds no mutable table.
func wasiErrno(en syscall.Errno) (e uint16, ok bool) {
	switch en {
	case syscall.EACCES:
		return errnoAcces, true
	case syscall.EAGAIN:
		return errnoAgain, true
	case syscall.EBADF:
		return errnoBadf, true
	case syscall.EBUSY:
		return errnoBusy, true
	case syscall.EDQUOT:
		return errnoDquot, true
	case syscall.EEXIST:
		return errnoExist, true
	case syscall.EFAULT:
		return errnoFault, true
	case syscall.EFBIG:
		return errnoFbig, true
	case syscall.EINVAL:
		return errnoInval, true
	case syscall.EIO:
		return errnoIO, true
	case syscall.EISDIR:
		return errnoIsdir, true
	case syscall.ELOOP:
		return errnoLoop, true
	case syscall.EMFILE:
		return errnoNfile, true // the host's limit is the machine's, not the SIP's (hostfds.go)
	case syscall.EMLINK:
		return errnoMlink, true
	case syscall.ENAMETOOLONG:
		return errnoNametoolong, true
	case syscall.ENFILE:
		return errnoNfile, true
	case syscall.ENOENT:
		return errnoNoent, true
	case syscall.ENOMEM:
		return errnoNomem, true
	case syscall.ENOSPC:
		return errnoNospc, true
	case syscall.ENOSYS:
		return errnoNosys, true
	case syscall.ENOTDIR:
		return errnoNotdir, true
	case syscall.ENOTEMPTY:
		return errnoNotempty, true
	case syscall.ENOTSUP:
		return errnoNotsup, true
	case syscall.EOVERFLOW:
		return errnoOverflow, true
	case syscall.EPERM:
		return errnoPerm, true
	case syscall.EPIPE:
		return errnoPipe, true
	case syscall.EROFS:
		return errnoRofs, true
	case syscall.ESPIPE:
		return errnoSpipe, true
	case syscall.ETXTBSY:
		return errnoTxtbsy, true
	case syscall.EXDEV:
		return errnoXdev, true
	}
	return 0, false
}

// fsErrno turns a host error into a WASI errno. A path that os.Root refuses
// because it leaves the preopen (through "..", an absolute path or a
// symlink) is EPERM, as wasmtime answers (docs/wasi.md, "Escapes").
func fsErrno(err error) uint16 {
	var en syscall.Errno
	if errors.As(err, &en) {
		if e, ok := wasiErrno(en); ok {
			return e
		}
		return errnoIO
	}
	switch {
	case isEscape(err):
		return errnoPerm
	case errors.Is(err, fs.ErrNotExist):
		return errnoNoent
	case errors.Is(err, fs.ErrExist):
		return errnoExist
	case errors.Is(err, fs.ErrPermission):
		return errnoAcces
	case errors.Is(err, os.ErrClosed):
		return errnoBadf
	case errors.Is(err, fs.ErrInvalid):
		return errnoInval
	}
	return errnoIO
}

// isEscape reports whether err is os.Root's refusal of a path that leads
// outside the root. os does not export that error; its text is stable.
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
