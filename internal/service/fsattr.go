package service

// Directory listings, file attributes and the host calls that os does not
// wrap (futimens, utimensat without following, pwrite on an APPEND file,
// fcntl), for the file-system service (fs.go).

import (
	"encoding/binary"
	"io/fs"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// readdir lists the directory once per pass (at cookie 0) and answers later
// cookies from that list, as a host getdents would from its position.
func (f *FS) readdir(n *node, req *kernel.Request) wasip1.Errno {
	if n.root == nil {
		return wasip1.ErrnoNotdir
	}
	args := fsReaddirOf(req)
	cookie := args.Cookie
	if cookie < 0 {
		return wasip1.ErrnoInval
	}
	if cookie == 0 || n.list == nil {
		d, err := n.root.Open(".")
		if err != nil {
			return fsErrno(err)
		}
		ents, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return fsErrno(err)
		}
		list := make([]dirent, 0, len(ents)+2)
		var self uint64
		if fi, err := n.file.Stat(); err == nil {
			self = ino(fi)
		}
		list = append(list, dirent{".", self, wasip1.FiletypeDirectory}, dirent{"..", 0, wasip1.FiletypeDirectory})
		for _, e := range ents {
			var in uint64
			if fi, err := e.Info(); err == nil {
				in = ino(fi)
			}
			list = append(list, dirent{e.Name(), in, filetype(e.Type())})
		}
		n.list = list
	}
	want := min(max(args.Max, 0), maxReaddirs)
	b := req.Buf[:0]
	for i := cookie; i < int64(len(n.list)) && int64(len(b)) < want; i++ {
		e := n.list[i]
		var h [wasip1.DirentSize]byte
		binary.LittleEndian.PutUint64(h[0:], uint64(i+1))
		binary.LittleEndian.PutUint64(h[8:], e.ino)
		binary.LittleEndian.PutUint32(h[16:], uint32(len(e.name)))
		h[20] = e.typ
		b = append(append(b, h[:]...), e.name...)
	}
	req.Buf = b
	return 0
}

func ino(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

func filetype(m fs.FileMode) uint8 {
	switch {
	case m.IsRegular():
		return wasip1.FiletypeRegularFile
	case m&fs.ModeDir != 0:
		return wasip1.FiletypeDirectory
	case m&fs.ModeSymlink != 0:
		return wasip1.FiletypeSymbolicLink
	case m&fs.ModeCharDevice != 0:
		return wasip1.FiletypeCharacterDevice
	case m&fs.ModeDevice != 0:
		return wasip1.FiletypeBlockDevice
	case m&fs.ModeSocket != 0:
		return wasip1.FiletypeSocketStream
	}
	return wasip1.FiletypeUnknown
}

func appendFilestat(b []byte, fi fs.FileInfo) []byte {
	var st [wasip1.FilestatSize]byte
	st[16] = filetype(fi.Mode())
	binary.LittleEndian.PutUint64(st[32:], uint64(fi.Size()))
	binary.LittleEndian.PutUint64(st[24:], 1)
	mt := uint64(fi.ModTime().UnixNano())
	binary.LittleEndian.PutUint64(st[40:], mt)
	binary.LittleEndian.PutUint64(st[48:], mt)
	binary.LittleEndian.PutUint64(st[56:], mt)
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		binary.LittleEndian.PutUint64(st[0:], s.Dev)
		binary.LittleEndian.PutUint64(st[8:], s.Ino)
		binary.LittleEndian.PutUint64(st[24:], uint64(s.Nlink))
		binary.LittleEndian.PutUint64(st[40:], uint64(s.Atim.Nano()))
		binary.LittleEndian.PutUint64(st[56:], uint64(s.Ctim.Nano()))
	}
	return append(b, st[:]...)
}

// badFst reports fstflags that ask for a time both given and now, or
// undefined bits.
func badFst(fl uint16) bool {
	return fl&(wasip1.FstflagsAtim|wasip1.FstflagsAtimNow) == wasip1.FstflagsAtim|wasip1.FstflagsAtimNow || fl&(wasip1.FstflagsMtim|wasip1.FstflagsMtimNow) == wasip1.FstflagsMtim|wasip1.FstflagsMtimNow || fl&^15 != 0
}

// times decodes set-times arguments for os.Root.Chtimes: a zero time leaves
// that time as it is.
func times(t FSTimes) (atim, mtim time.Time, ok bool) {
	a, m, fl := t.Atim, t.Mtim, t.Fst
	if badFst(fl) {
		return atim, mtim, false
	}
	now := time.Now()
	switch {
	case fl&wasip1.FstflagsAtimNow != 0:
		atim = now
	case fl&wasip1.FstflagsAtim != 0:
		atim = time.Unix(0, int64(a))
	}
	switch {
	case fl&wasip1.FstflagsMtimNow != 0:
		mtim = now
	case fl&wasip1.FstflagsMtim != 0:
		mtim = time.Unix(0, int64(m))
	}
	return atim, mtim, true
}

// pathSetTimes sets the times of name in r: through an fd opened inside r
// when a final symlink is followed (so it cannot lead out), with
// utimensat(AT_SYMLINK_NOFOLLOW) on the parent otherwise.
func pathSetTimes(r *os.Root, name string, follow bool, t FSTimes) wasip1.Errno {
	ts, ok := timespecs(t)
	if !ok {
		return wasip1.ErrnoInval
	}
	if follow {
		f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0) // NONBLOCK: a FIFO must not hold the worker
		if err != nil {
			// No read permission: os.Root.Chtimes needs none (it cannot
			// leave times as they are, so only when both are given).
			atim, mtim, ok := times(t)
			if !ok || ts[0].Nsec == unix.UTIME_OMIT || ts[1].Nsec == unix.UTIME_OMIT {
				return fsErrno(err)
			}
			return errnoOf(r.Chtimes(name, atim, mtim))
		}
		defer f.Close()
		return setTimes(f, t)
	}
	d, base, e := parentOf(r, name)
	if e != 0 {
		return e
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	var uerr error
	if err := rc.Control(func(fd uintptr) {
		uerr = unix.UtimesNanoAt(int(fd), base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
	}); err != nil {
		return fsErrno(err)
	}
	return errnoOf(uerr)
}

// timespecs decodes set-times arguments for utimensat(2).
func timespecs(t FSTimes) ([2]unix.Timespec, bool) {
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	a, m, fl := t.Atim, t.Mtim, t.Fst
	if badFst(fl) {
		return ts, false
	}
	switch {
	case fl&wasip1.FstflagsAtimNow != 0:
		ts[0].Nsec = unix.UTIME_NOW
	case fl&wasip1.FstflagsAtim != 0:
		ts[0] = unix.NsecToTimespec(int64(a))
	}
	switch {
	case fl&wasip1.FstflagsMtimNow != 0:
		ts[1].Nsec = unix.UTIME_NOW
	case fl&wasip1.FstflagsMtim != 0:
		ts[1] = unix.NsecToTimespec(int64(m))
	}
	return ts, true
}

// setTimes is futimens(2) with WASI's flags.
func setTimes(f *os.File, t FSTimes) wasip1.Errno {
	ts, ok := timespecs(t)
	if !ok {
		return wasip1.ErrnoInval
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		// utimensat(fd, NULL, ts, 0) is futimens(fd, ts).
		_, _, errno = unix.Syscall6(unix.SYS_UTIMENSAT, fd, 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	}); err != nil {
		return fsErrno(err)
	}
	if errno != 0 {
		return fsErrno(errno)
	}
	return 0
}

func pwrite(f *os.File, b []byte, off int64) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		n, werr = unix.Pwrite(int(fd), b, off)
		return werr != unix.EAGAIN
	}); err != nil {
		return 0, err
	}
	return n, werr
}

func setAppend(f *os.File, on bool) wasip1.Errno {
	rc, err := f.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		var fl int
		fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0)
		if ferr != nil {
			return
		}
		if on {
			fl |= unix.O_APPEND
		} else {
			fl &^= unix.O_APPEND
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	}); err != nil {
		return fsErrno(err)
	}
	return errnoOf(ferr)
}
