package service

// Opening files and directories: path_open's flags read as open(2) reads
// them, a new handle charged to the SIP's quota and the machine's budget of
// host descriptors (hostfds.go).

import (
	"io/fs"
	"os"
	"strings"

	"isle/internal/kernel"
)

func (f *FS) open(n *node, req *kernel.Request) uint16 {
	if n.root == nil {
		return errnoNotdir
	}
	name := req.Str
	if bad := checkPath(name); bad != 0 {
		return bad
	}
	v := req.Off
	oflags := uint16(v)
	fdflags := uint16(v >> 16)
	follow := v&(1<<32) != 0
	read := v&(1<<33) != 0
	write := v&(1<<34) != 0
	if oflags&^(oflagCreat|oflagDirectory|oflagExcl|oflagTrunc) != 0 {
		return errnoInval
	}
	creat := oflags&oflagCreat != 0
	excl := oflags&oflagExcl != 0
	trunc := oflags&oflagTrunc != 0
	wantDir := oflags&oflagDirectory != 0
	if fdflags&fdflagAppend != 0 || trunc {
		write = true
	}
	r := n.root

	// A final symlink is not followed without LOOKUP_SYMLINK_FOLLOW: ELOOP,
	// as open(2) with O_NOFOLLOW (EEXIST under O_CREAT|O_EXCL).
	lfi, lerr := r.Lstat(name)
	if lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		if creat && excl {
			return errnoExist
		}
		if !follow {
			if wantDir {
				return errnoNotdir
			}
			return errnoLoop
		}
	}
	fi, err := r.Stat(name)
	switch {
	case err == nil && creat && excl:
		return errnoExist
	case err == nil && fi.IsDir():
		// The rights asked for were reduced to a directory's by the
		// personality; what is left that would write to the directory as
		// a file is EISDIR, as open(2) answers: fd_write (O_WRONLY,
		// O_RDWR), O_TRUNC, APPEND, and O_CREAT of an existing directory.
		if write || creat {
			return errnoIsdir
		}
		pid := req.PID()
		if e := f.quota.admit(f.fds, pid, 2); e != 0 {
			return e
		}
		sub, err := r.OpenRoot(name)
		if err != nil {
			f.quota.release(f.fds, pid, 2)
			return fsErrno(err)
		}
		d, err := sub.Open(".")
		if err != nil {
			sub.Close()
			f.quota.release(f.fds, pid, 2)
			return fsErrno(err)
		}
		h, ok := f.add(&node{file: d, root: sub, ro: n.ro, owner: pid})
		if !ok {
			sub.Close()
			d.Close()
			f.quota.release(f.fds, pid, 2)
			return errnoNfile
		}
		req.N = int64(h)
		req.Off = FiletypeDirectory | roBit(n.ro) | lendFile(d) // for fstat on the core (inline.go)
		return 0
	case err == nil && wantDir:
		return errnoNotdir
	case err != nil && !creat:
		return fsErrno(err)
	case err != nil && wantDir:
		if e := fsErrno(err); e != errnoNoent {
			return e
		}
		return errnoNoent // O_CREAT|O_DIRECTORY does not make directories
	case err != nil && strings.HasSuffix(name, "/"):
		return errnoIsdir // open("new/", O_CREAT) is EISDIR on Linux
	}
	if n.ro && (write || (creat && err != nil)) {
		return errnoAcces
	}
	flag := os.O_RDONLY
	switch {
	case read && write:
		flag = os.O_RDWR
	case write:
		flag = os.O_WRONLY
	}
	if creat {
		flag |= os.O_CREATE
	}
	if excl {
		flag |= os.O_EXCL
	}
	if trunc {
		flag |= os.O_TRUNC
	}
	if fdflags&fdflagAppend != 0 {
		flag |= os.O_APPEND
	}
	pid := req.PID()
	if e := f.quota.admit(f.fds, pid, 1); e != 0 {
		return e
	}
	file, err := r.OpenFile(name, flag, 0o666)
	if err != nil {
		f.quota.release(f.fds, pid, 1)
		return fsErrno(err)
	}
	typ := uint8(FiletypeRegular)
	if st, err := file.Stat(); err == nil {
		typ = filetype(st.Mode())
	}
	h, ok := f.add(&node{file: file, ro: n.ro, owner: pid})
	if !ok {
		file.Close()
		f.quota.release(f.fds, pid, 1)
		return errnoNfile
	}
	req.N = int64(h)
	req.Off = int64(typ) | roBit(n.ro)
	if typ == FiletypeRegular {
		req.Off |= lendFile(file) // inline.go
	}
	return 0
}

// lendFile returns the lent-descriptor bits of f's open result: a regular
// file's descriptor is lent for reads, writes and fstat on the core, a
// directory's for fstat only.
func lendFile(f *os.File) int64 {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var v int64
	rc.Control(func(fd uintptr) {
		v = lend(int(fd))
		if v != 0 && localFS(int(fd)) {
			v |= FSLocal
		}
	})
	return v
}

func roBit(ro bool) int64 {
	if ro {
		return FSReadOnly
	}
	return 0
}
