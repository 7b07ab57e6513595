package service

// The file-system service's calls on a file's bytes and on the paths under
// a directory (fs.go dispatches to them).

import (
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// readFile is FSRead (at the file's offset) and FSPread (at Off).
func readFile(n *node, req *kernel.Request) wasip1.Errno {
	a := fsReadOf(req)
	want := min(max(a.Max, 0), maxFSChunk)
	if int64(cap(req.Buf)) < want {
		req.Buf = make([]byte, want)
	}
	req.Buf = req.Buf[:want]
	var got int
	var err error
	if req.Op == FSRead {
		got, err = n.file.Read(req.Buf)
	} else {
		if a.At < 0 {
			return wasip1.ErrnoInval
		}
		got, err = n.file.ReadAt(req.Buf, a.At)
	}
	req.N = int64(got)
	if err != nil && err != io.EOF && got == 0 {
		return fsErrno(err)
	}
	return 0
}

// writeFile is FSWrite (at the file's offset, its end with APPEND) and
// FSPwrite (at Off).
func writeFile(n *node, req *kernel.Request) wasip1.Errno {
	if n.ro {
		return wasip1.ErrnoAcces
	}
	a := fsWriteOf(req)
	var got int
	var err error
	if req.Op == FSWrite {
		got, err = n.file.Write(req.Buf)
	} else {
		if a.At < 0 {
			return wasip1.ErrnoInval
		}
		// os.File refuses WriteAt on an O_APPEND file; pwrite(2) on
		// Linux appends there, so do as Linux does.
		got, err = pwrite(n.file, req.Buf, a.At)
	}
	req.N = int64(got)
	if req.Op == FSWrite {
		// The file's offset after the write, for a SIP that keeps
		// offsets itself (an APPEND write moves it to the end).
		req.Off, _ = n.file.Seek(0, io.SeekCurrent)
	}
	if err != nil && got == 0 {
		return fsErrno(err)
	}
	return 0
}

// allocate is FSAllocate: the file is made at least Off+N bytes long (no
// blocks are reserved).
func allocate(n *node, req *kernel.Request) wasip1.Errno {
	if n.ro {
		return wasip1.ErrnoAcces
	}
	a := fsAllocateOf(req)
	if a.Off < 0 || a.Len <= 0 || a.Off+a.Len < 0 {
		return wasip1.ErrnoInval
	}
	fi, err := n.file.Stat()
	if err != nil {
		return fsErrno(err)
	}
	if end := a.Off + a.Len; end > fi.Size() {
		return errnoOf(n.file.Truncate(end))
	}
	return 0
}

// pathLook is FSPathStat and FSReadlink of path p in root r, which change
// nothing.
func pathLook(r *os.Root, req *kernel.Request, p FSPathReq) wasip1.Errno {
	name := p.Path
	if req.Op == FSReadlink {
		t, err := r.Readlink(name)
		if err != nil {
			return fsErrno(err)
		}
		req.Buf = append(req.Buf[:0], t...)
		return 0
	}
	var fi fs.FileInfo
	var err error
	if p.Follow {
		fi, err = r.Stat(name)
	} else {
		fi, err = r.Lstat(name)
	}
	if err != nil {
		return fsErrno(err)
	}
	req.Buf = appendFilestat(req.Buf[:0], fi)
	return 0
}

// pathChange is a call that changes what lies under root r, at path name
// (first: a symlink's target, else name): the caller has refused it under
// a read-only preopen.
func (f *FS) pathChange(r *os.Root, req *kernel.Request, name, first string) wasip1.Errno {
	switch req.Op {
	case FSPathSetTimes:
		a := fsPathSetTimesOf(req)
		return pathSetTimes(r, name, a.Follow, a.Times)
	case FSMkdir:
		return errnoOf(r.Mkdir(name, 0o777))
	case FSUnlink:
		return unlinkFile(r, name)
	case FSRmdir:
		return removeDir(r, name)
	case FSSymlink:
		target, link := first, name
		if bad := checkPath(link); bad != 0 {
			return bad
		}
		if strings.HasPrefix(target, "/") {
			return wasip1.ErrnoPerm // it could only ever lead out of the preopen
		}
		return errnoOf(r.Symlink(target, link))
	case FSRename, FSLink:
		return f.renameOrLinkReq(r, req)
	}
	return wasip1.ErrnoInval
}

// unlinkFile is FSUnlink: EISDIR for a directory, as unlink(2) answers.
func unlinkFile(r *os.Root, name string) wasip1.Errno {
	fi, err := r.Lstat(name)
	if err != nil {
		return fsErrno(err)
	}
	if fi.IsDir() {
		return wasip1.ErrnoIsdir
	}
	if strings.HasSuffix(name, "/") {
		return wasip1.ErrnoNotdir
	}
	return errnoOf(r.Remove(name))
}

// removeDir is FSRmdir: ENOTDIR for a file, ENOTEMPTY for a directory with
// entries, EINVAL for ".".
func removeDir(r *os.Root, name string) wasip1.Errno {
	fi, err := r.Lstat(name)
	if err != nil {
		return fsErrno(err)
	}
	if !fi.IsDir() {
		return wasip1.ErrnoNotdir
	}
	if path.Clean(name) == "." {
		return wasip1.ErrnoInval // rmdir(".") is EINVAL in POSIX
	}
	err = r.Remove(name)
	if err != nil {
		// Root.Remove tries unlink first; report rmdir's answer.
		if e, ok := dirErr(r, name); ok {
			return e
		}
	}
	return errnoOf(err)
}

// renameOrLinkReq is FSRename and FSLink: the old path in r, the new in
// the directory the request names.
func (f *FS) renameOrLinkReq(r *os.Root, req *kernel.Request) wasip1.Errno {
	old, newDir, nw := twoPathsOf(req)
	if bad := checkPath(nw); bad != 0 {
		return bad
	}
	dst := f.node(newDir)
	if newDir < -1 { // a directory opened on the core: adopted now if this overtook its FSAdopt
		dst = f.adoptedNode(newDir, req)
	}
	if dst == nil || (newDir < -1 && req.PID() != 0 && dst.owner != req.PID()) {
		return wasip1.ErrnoBadf
	}
	if dst.root == nil {
		return wasip1.ErrnoNotdir
	}
	if dst.ro {
		return wasip1.ErrnoAcces
	}
	if req.Op == FSLink && fsLinkOf(req).Follow {
		return linkFollow(r, old, dst.root, nw)
	}
	return renameOrLink(req.Op, r, old, dst.root, nw)
}
