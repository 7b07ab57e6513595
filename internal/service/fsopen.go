package service

// Opening files and directories: path_open's flags read as open(2) reads
// them, a new handle charged to the SIP's quota and the machine's budget of
// host descriptors (hostfds.go).

import (
	"io/fs"
	"os"
	"strings"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

func (f *FS) open(n *node, req *kernel.Request) wasip1.Errno {
	if n.root == nil {
		return wasip1.ErrnoNotdir
	}
	o := fsOpenOf(req)
	name := o.Path
	if bad := checkPath(name); bad != 0 {
		return bad
	}
	oflags, fdflags := o.Oflags, o.Fdflags
	a := openArgs{name: name, ro: n.ro, follow: o.Follow, read: o.Read, write: o.Write}
	if oflags&^(wasip1.OflagsCreat|wasip1.OflagsDirectory|wasip1.OflagsExcl|wasip1.OflagsTrunc) != 0 {
		return wasip1.ErrnoInval
	}
	a.creat = oflags&wasip1.OflagsCreat != 0
	a.excl = oflags&wasip1.OflagsExcl != 0
	a.trunc = oflags&wasip1.OflagsTrunc != 0
	a.wantDir = oflags&wasip1.OflagsDirectory != 0
	a.appendMode = fdflags&wasip1.FdflagsAppend != 0
	if a.appendMode || a.trunc {
		a.write = true
	}
	// The descriptor is taken first, as open(2) takes it before it looks
	// the path up (EMFILE before ENOENT); a directory takes a second one
	// when it turns out to be one.
	pid := req.PID()
	if e := f.quota.admit(f.fds, pid, 1); e != 0 {
		return e
	}
	// The host calls run on a goroutine of their own, so that a slow one
	// (creating a file takes a millisecond on a busy disk) holds up only
	// the SIP that asked, not every SIP that shares this worker: a SIP that
	// created 1,024 files took the worker from its neighbours for a second.
	// The result is recorded on the worker's goroutine (finishOpen).
	r := n.root
	var d kernel.Deferred
	switch {
	case f.again != nil: // a call held behind its SIP's writes (fsbehindq.go): its deferral
		d, f.again = *f.again, nil
	case !req.Deferrable(): // Serve called directly (the tests): at once
		f.finishOpen(req, a.ro, pid, openHost(r, a))
		return req.Errno
	default:
		d = req.Defer()
	}
	f.opening.Add(1)
	go func() {
		res := openHost(r, a)
		d.Finish(func() { f.finishOpen(req, a.ro, pid, res) })
		f.opening.Done()
	}()
	return 0
}

// openArgs is what path_open asked for, read from its flags.
type openArgs struct {
	name                                                 string
	ro, follow, read, write, creat, excl, trunc, wantDir bool
	appendMode                                           bool
}

// opened is what openHost did: a file, or a directory (file and root), or
// an errno.
type opened struct {
	file  *os.File
	root  *os.Root
	typ   uint8
	errno wasip1.Errno
}

func (o opened) close() {
	if o.file != nil {
		o.file.Close()
	}
	if o.root != nil {
		o.root.Close()
	}
}

// openHost makes open's host calls in r. It touches none of the worker's
// tables: it runs on a goroutine of its own (os.Root's methods may be
// called concurrently).
func openHost(r *os.Root, a openArgs) opened {
	o, exists, done := lookupForOpen(r, a)
	if done {
		return o
	}
	if a.ro && (a.write || (a.creat && !exists)) {
		return opened{errno: wasip1.ErrnoAcces}
	}
	file, err := r.OpenFile(a.name, a.hostFlags(), 0o666)
	if err != nil {
		return opened{errno: fsErrno(err)}
	}
	typ := uint8(wasip1.FiletypeRegularFile)
	if st, err := file.Stat(); err == nil {
		typ = filetype(st.Mode())
	}
	return opened{file: file, typ: typ}
}

// lookupForOpen looks name up as open(2) would before it opens a file:
// done with the answer (an errno, or a directory opened as a root of its
// own), or not done, saying whether the name exists.
func lookupForOpen(r *os.Root, a openArgs) (o opened, exists, done bool) {
	fail := func(e wasip1.Errno) (opened, bool, bool) { return opened{errno: e}, false, true }
	name := a.name
	// A final symlink is not followed without LOOKUP_SYMLINK_FOLLOW: ELOOP,
	// as open(2) with O_NOFOLLOW (EEXIST under O_CREAT|O_EXCL).
	lfi, lerr := r.Lstat(name)
	if lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		if a.creat && a.excl {
			return fail(wasip1.ErrnoExist)
		}
		if !a.follow {
			if a.wantDir {
				return fail(wasip1.ErrnoNotdir)
			}
			return fail(wasip1.ErrnoLoop)
		}
	}
	fi, err := r.Stat(name)
	switch {
	case err == nil && a.creat && a.excl:
		return fail(wasip1.ErrnoExist)
	case err == nil && fi.IsDir():
		// The rights asked for were reduced to a directory's by the
		// personality; what is left that would write to the directory as
		// a file is EISDIR, as open(2) answers: fd_write (O_WRONLY,
		// O_RDWR), O_TRUNC, APPEND, and O_CREAT of an existing directory.
		if a.write || a.creat {
			return fail(wasip1.ErrnoIsdir)
		}
		return openDir(r, name), true, true
	case err == nil && a.wantDir:
		return fail(wasip1.ErrnoNotdir)
	case err != nil && !a.creat:
		return fail(fsErrno(err))
	case err != nil && a.wantDir:
		if e := fsErrno(err); e != wasip1.ErrnoNoent {
			return fail(e)
		}
		return fail(wasip1.ErrnoNoent) // O_CREAT|O_DIRECTORY does not make directories
	case err != nil && strings.HasSuffix(name, "/"):
		return fail(wasip1.ErrnoIsdir) // open("new/", O_CREAT) is EISDIR on Linux
	}
	return opened{}, err == nil, false
}

// openDir opens directory name in r as a root of its own.
func openDir(r *os.Root, name string) opened {
	sub, err := r.OpenRoot(name)
	if err != nil {
		return opened{errno: fsErrno(err)}
	}
	d, err := sub.Open(".")
	if err != nil {
		sub.Close()
		return opened{errno: fsErrno(err)}
	}
	return opened{file: d, root: sub, typ: wasip1.FiletypeDirectory}
}

// hostFlags are the os.OpenFile flags of a file open.
func (a openArgs) hostFlags() int {
	flag := os.O_RDONLY
	switch {
	case a.read && a.write:
		flag = os.O_RDWR
	case a.write:
		flag = os.O_WRONLY
	}
	if a.creat {
		flag |= os.O_CREATE
	}
	if a.excl {
		flag |= os.O_EXCL
	}
	if a.trunc {
		flag |= os.O_TRUNC
	}
	if a.appendMode {
		flag |= os.O_APPEND
	}
	return flag
}

// finishOpen records what openHost opened for req in the worker's tables,
// on the worker's goroutine, and fills in req's results. pid's one
// descriptor was admitted by open.
func (f *FS) finishOpen(req *kernel.Request, ro bool, pid int64, o opened) {
	fds := 1
	fail := func(e wasip1.Errno) {
		o.close()
		f.quota.release(f.fds, pid, fds)
		req.Errno = e
	}
	switch {
	case o.errno != 0:
		fail(o.errno)
		return
	case f.closed:
		fail(wasip1.ErrnoIo) // the machine stopped meanwhile: nobody sees the reply
		return
	case o.root != nil:
		// The directory's root is a second host descriptor of the same
		// handle: the machine's budget takes it, the SIP's quota (which
		// counts handles, and is released once per handle) does not.
		if !f.fds.take(1) {
			fail(wasip1.ErrnoNfile)
			return
		}
		fds = 2
	}
	h, ok := f.add(&node{file: o.file, root: o.root, ro: ro, owner: pid})
	if !ok {
		fail(wasip1.ErrnoNfile)
		return
	}
	res := FSOpened{Handle: h, Type: o.typ, ReadOnly: ro}
	if o.typ == wasip1.FiletypeRegularFile || o.typ == wasip1.FiletypeDirectory {
		res.Lend = lendFile(o.file) // for calls on the core (inline.go)
	}
	res.put(req)
	req.Errno = 0
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
