package service

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"isle/internal/wasip1"
)

// fsErrno turns a host error into a WASI errno. A path that os.Root refuses
// because it leaves the preopen (through "..", an absolute path or a
// symlink) is EPERM, as wasmtime answers (docs/wasi.md, "Escapes").
func fsErrno(err error) wasip1.Errno {
	var en syscall.Errno
	if errors.As(err, &en) {
		if e, ok := wasip1.FromHost(en); ok {
			return e
		}
		return wasip1.ErrnoIo // a host errno WASI has no better name for
	}
	switch {
	case isEscape(err):
		return wasip1.ErrnoPerm
	case errors.Is(err, fs.ErrNotExist):
		return wasip1.ErrnoNoent
	case errors.Is(err, fs.ErrExist):
		return wasip1.ErrnoExist
	case errors.Is(err, fs.ErrPermission):
		return wasip1.ErrnoAcces
	case errors.Is(err, os.ErrClosed):
		return wasip1.ErrnoBadf
	case errors.Is(err, fs.ErrInvalid):
		return wasip1.ErrnoInval
	}
	return wasip1.ErrnoIo
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
