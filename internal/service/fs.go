package service

// The file-system service serves host directories, given to the machine as
// preopens, through os.Root.
//
// The rules of its interface:
//
//   - Every path a request names is resolved by an os.Root: the preopen's,
//     or the directory's own when the request names a directory that a SIP
//     opened (each open directory is a root of its own, as in wasmtime's
//     cap-std). So no "..", absolute path or symlink leads outside the
//     directory it is resolved in; such a path is refused with EPERM.
//   - The service owns every host file and directory it opened; a SIP names
//     one by a handle (kernel.Request.Fd) that this service gave it. Handles
//     0 … len(preopens)-1 are the preopens, the same in every worker, and are
//     never closed; the others belong to the SIP that opened them, which is
//     the only one that sends requests naming them.
//   - A machine runs several FS workers (NewFS per worker), each a kernel
//     service with its own handle table and its own roots; a SIP sends all
//     its file requests to one of them, so one slow host call holds up only
//     the SIPs that share its worker. Workers share nothing.
//   - Serve runs on the worker's goroutine, may block on the host for a
//     short call, and never panics on a request's contents: a bad handle is
//     EBADF, a bad argument EINVAL. An open, whose host calls may take long
//     (a create on a busy disk, a FIFO), is deferred: its host calls run on
//     a goroutine of their own and the worker records the result
//     (fsopen.go), so that it holds up only the SIP that asked.
//   - A read-only preopen (and everything opened under it) refuses every
//     change with EACCES (docs/wasi.md, "Errno choices").

import (
	"encoding/binary"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// File-system operations (kernel.Request.Op), each the Op of a typed
// request (fsreq.go).
const (
	FSOpen         uint32 = iota + 100 // FSOpenReq; the reply is FSOpenedOf's
	FSClose                            // FSCloseReq
	FSRead                             // FSReadReq at the file's offset
	FSPread                            // FSReadReq at an offset
	FSWrite                            // FSWriteReq at the file's offset
	FSPwrite                           // FSWriteReq at an offset
	FSSeek                             // FSSeekReq
	FSStat                             // FSStatReq
	FSPathStat                         // FSPathReq
	FSSetSize                          // FSSetSizeReq
	FSSetTimes                         // FSSetTimesReq
	FSPathSetTimes                     // FSPathSetTimesReq
	FSMkdir                            // FSPathReq
	FSUnlink                           // FSPathReq: EISDIR for a directory
	FSRmdir                            // FSPathReq: ENOTDIR for a file
	FSRename                           // FSRenameReq
	FSLink                             // FSLinkReq
	FSSymlink                          // FSSymlinkReq
	FSReadlink                         // FSPathReq
	FSReaddir                          // FSReaddirReq
	FSSync                             // FSSyncReq
	FSDatasync                         // FSSyncReq, DataOnly
	FSSetFlags                         // FSSetFlagsReq
	FSAllocate                         // FSAllocateReq
	FSCloseAll                         // FSCloseAllReq: Buf lists handles, little-endian int32s (AppendHandle)
	FSAdopt                            // FSAdoptReq, posted
)

// FSReadOnly is set in FSOpen's result (Off) when the opened file or
// directory lies under a read-only preopen. WASI's flags, file types and
// record sizes are internal/wasip1's.
const FSReadOnly = 1 << 8

// Limits in one place.
const (
	maxHandles  = 1 << 16 // open files and directories per worker
	maxFSChunk  = 1 << 20 // bytes one read returns
	maxReaddirs = 1 << 20 // bytes of dirents one readdir returns
)

// FSDir is a host directory to serve.
type FSDir struct {
	Host     string
	ReadOnly bool
}

// FS is one file-system worker: a kernel.Service with its own handles.
// Every field is owned by the worker's goroutine once the machine runs.
//
// fds is the machine's budget (shared by every worker, hostfds.go); quota
// counts each SIP's handles here.
type FS struct {
	nodes []*node // by handle; nil: free
	free  []int32
	npre  int // handles below it are the preopens
	fds   *HostFDs
	quota quota
	// opening counts the opens whose host calls run on their own
	// goroutines (fsopen.go); Close waits for them. Add on the worker's
	// goroutine, Done on theirs.
	opening sync.WaitGroup
	// adopted are the files SIPs opened on their cores (FSAdopt), by host
	// descriptor: handle AdoptedHandle(fd) names them.
	adopted map[int32]*node
	// closedEarly are the adopted files closed before their FSAdopt came
	// (inlinepath.go, "Adoption"), by host descriptor.
	closedEarly map[int32]bool
	closed      bool // Close has run: an open finished later closes what it opened
	// Writes behind (fsbehindq.go): behinds are the SIPs' that have one,
	// by pid (FSBehind registers one); queues hold what came of a SIP's
	// sequence before its turn; again is the deferral of a held call being
	// served now, which an open takes over (fsopen.go).
	behinds map[int64]*Behind
	queues  map[*Behind]*behindQueue
	again   *kernel.Deferred
}

// node is an open file or directory.
type node struct {
	file  *os.File // the file, or the directory opened for stat and sync
	root  *os.Root // directories: paths are resolved in it
	ro    bool
	list  []dirent
	owner int64 // the SIP that opened it (0: a preopen)
}

// hostFDs is the host descriptors n holds: a directory has its root's too.
func (n *node) hostFDs() int {
	if n.root != nil {
		return 2
	}
	return 1
}

type dirent struct {
	name string
	ino  uint64
	typ  uint8
}

// NewFS opens dirs (in order: handle i is dirs[i]) for a new worker. Its
// SIPs' files are charged to fds (nil: no machine budget) and to each SIP's
// quota (MaxFilesPerSIP).
func NewFS(dirs []FSDir, fds *HostFDs) (*FS, error) {
	f := &FS{fds: fds, quota: quota{}}
	for _, d := range dirs {
		r, err := os.OpenRoot(d.Host)
		if err != nil {
			f.Close()
			return nil, err
		}
		dir, err := r.Open(".")
		if err != nil {
			r.Close()
			f.Close()
			return nil, err
		}
		f.nodes = append(f.nodes, &node{file: dir, root: r, ro: d.ReadOnly})
	}
	f.npre = len(dirs)
	return f, nil
}

// Close implements kernel.Closer: it closes every host file the worker
// holds. The kernel calls it on the worker's goroutine once the machine's
// cores have ended; before Boot, anyone may.
func (f *FS) Close() {
	f.closeBehind()
	f.opening.Wait() // their results come to the worker after Close, and are closed
	f.closed = true
	for h, n := range f.nodes {
		if n != nil {
			n.close()
			if h >= f.npre {
				f.quota.release(f.fds, n.owner, n.hostFDs())
			}
		}
	}
	f.nodes = nil
	for fd, n := range f.adopted {
		f.closeAdopted(AdoptedHandle(fd, n.ro))
	}
}

// Abandon implements kernel.Abandoner: the SIP that asked for req was
// killed before it saw the reply, so a file or directory opened for it
// would stay open for nobody; it is closed.
func (f *FS) Abandon(req *kernel.Request) {
	if req.Op == FSOpen && req.Errno == 0 {
		f.close(FSOpenedOf(req).Handle)
	}
}

// close closes handle h, unless it is a preopen's: those are shared by
// every SIP of this worker.
func (f *FS) close(h int32) {
	if h < -1 {
		f.closeAdopted(h)
		return
	}
	if int(h) < f.npre || f.node(h) == nil {
		return
	}
	n := f.nodes[h]
	n.close()
	f.quota.release(f.fds, n.owner, n.hostFDs())
	f.nodes[h] = nil
	f.free = append(f.free, h)
}

func (n *node) close() {
	if n.file != nil {
		n.file.Close()
	}
	if n.root != nil {
		n.root.Close()
	}
}

func (f *FS) node(h int32) *node {
	if h < -1 {
		return f.adoptedNode(h, nil)
	}
	if h < 0 || int(h) >= len(f.nodes) {
		return nil
	}
	return f.nodes[h]
}

func (f *FS) add(n *node) (int32, bool) {
	if k := len(f.free); k > 0 {
		h := f.free[k-1]
		f.free = f.free[:k-1]
		f.nodes[h] = n
		return h, true
	}
	if len(f.nodes) >= maxHandles {
		return 0, false
	}
	f.nodes = append(f.nodes, n)
	return int32(len(f.nodes) - 1), true
}

// Serve implements kernel.Service.
func (f *FS) Serve(req *kernel.Request) {
	if f.sequenced(req) {
		return
	}
	req.Errno = f.serve(req)
}

func (f *FS) serve(req *kernel.Request) wasip1.Errno {
	if req.Op == FSCloseAll {
		for b := req.Buf; len(b) >= 4; b = b[4:] {
			f.close(int32(binary.LittleEndian.Uint32(b)))
		}
		return 0
	}
	if req.Op == FSAdopt {
		f.adopt(req)
		return 0
	}
	if req.Op == FSClose && req.Fd < -1 {
		f.closeAdopted(req.Fd) // never adopted by the close itself (inlinepath.go)
		return 0
	}
	n := f.node(req.Fd)
	if req.Fd < -1 {
		n = f.adoptedNode(req.Fd, req)
	}
	if n == nil || (req.Fd < -1 && req.PID() != 0 && n.owner != req.PID()) {
		return wasip1.ErrnoBadf
	}
	switch req.Op {
	case FSOpen:
		return f.open(n, req)
	case FSClose:
		f.close(req.Fd)
		return 0
	case FSStat:
		fi, err := n.file.Stat()
		if err != nil {
			return fsErrno(err)
		}
		req.Buf = appendFilestat(req.Buf[:0], fi)
		return 0
	case FSSync:
		return errnoOf(n.file.Sync())
	case FSDatasync:
		rc, err := n.file.SyscallConn()
		if err != nil {
			return fsErrno(err)
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.Fdatasync(int(fd)) }); err != nil {
			return fsErrno(err)
		}
		return errnoOf(serr)
	case FSSetTimes:
		if n.ro {
			return wasip1.ErrnoAcces
		}
		return setTimes(n.file, fsSetTimesOf(req).Times)
	case FSReaddir:
		return f.readdir(n, req)
	}
	if n.root != nil {
		return f.serveDir(n, req)
	}
	return f.serveFile(n, req)
}

func errnoOf(err error) wasip1.Errno {
	if err == nil {
		return 0
	}
	return fsErrno(err)
}

func (f *FS) serveFile(n *node, req *kernel.Request) wasip1.Errno {
	switch req.Op {
	case FSRead, FSPread:
		return readFile(n, req)
	case FSWrite, FSPwrite:
		return writeFile(n, req)
	case FSSeek:
		a := fsSeekOf(req)
		if a.Whence > wasip1.WhenceEnd { // WASI's whence is io's: set, current, end
			return wasip1.ErrnoInval
		}
		off, err := n.file.Seek(a.Offset, int(a.Whence))
		if err != nil {
			return fsErrno(err)
		}
		req.N = off
		return 0
	case FSSetSize:
		if n.ro {
			return wasip1.ErrnoAcces
		}
		a := fsSetSizeOf(req)
		if a.Size < 0 {
			return wasip1.ErrnoInval
		}
		return errnoOf(n.file.Truncate(a.Size))
	case FSAllocate:
		return allocate(n, req)
	case FSSetFlags:
		a := fsSetFlagsOf(req)
		if n.ro && a.Append {
			return wasip1.ErrnoAcces
		}
		return setAppend(n.file, a.Append)
	case FSOpen, FSPathStat, FSPathSetTimes, FSMkdir, FSUnlink, FSRmdir, FSRename, FSLink, FSSymlink, FSReadlink:
		return wasip1.ErrnoNotdir
	}
	return wasip1.ErrnoInval
}

func (f *FS) serveDir(n *node, req *kernel.Request) wasip1.Errno {
	switch req.Op {
	case FSRead, FSPread, FSWrite, FSPwrite:
		return wasip1.ErrnoIsdir
	case FSSeek, FSSetSize, FSAllocate:
		return wasip1.ErrnoIsdir
	case FSSetFlags:
		if fsSetFlagsOf(req).Append {
			return wasip1.ErrnoIsdir
		}
		return 0
	}
	// Every other operation on a directory names a path in it (a rename's
	// or link's old path); a symlink's target is checked first.
	p := fsPathOf(req)
	name, first := p.Path, p.Path
	if req.Op == FSSymlink {
		first = fsSymlinkOf(req).Target
	}
	if bad := checkPath(first); bad != 0 && !(req.Op == FSSymlink && bad == wasip1.ErrnoPerm) {
		return bad
	}
	switch req.Op {
	case FSPathStat, FSReadlink:
		return pathLook(n.root, req, p)
	}
	if n.ro {
		return wasip1.ErrnoAcces
	}
	return f.pathChange(n.root, req, name, first)
}

// renameOrLink is renameat(2) or linkat(2) between two roots, which may be
// the same. Each path's parent is opened inside its root (so it cannot lead
// out), and the call names only a last component, never "..", in it; a final
// symlink is renamed or linked itself, as the host calls do. The host gives
// POSIX's answers: EXDEV between file systems, ENOTDIR, EISDIR, ENOTEMPTY.
func renameOrLink(op uint32, r *os.Root, old string, dr *os.Root, nw string) wasip1.Errno {
	od, ob, e := parentOf(r, old)
	if e != 0 {
		return e
	}
	defer od.Close()
	nd, nb, e := parentOf(dr, nw)
	if e != 0 {
		return e
	}
	defer nd.Close()
	orc, err := od.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	nrc, err := nd.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	var cerr error
	err = orc.Control(func(ofd uintptr) {
		err := nrc.Control(func(nfd uintptr) {
			if op == FSRename {
				cerr = unix.Renameat(int(ofd), ob, int(nfd), nb)
			} else {
				cerr = unix.Linkat(int(ofd), ob, int(nfd), nb, 0)
			}
		})
		if cerr == nil {
			cerr = err
		}
	})
	if err == nil {
		err = cerr
	}
	return errnoOf(err)
}

// linkFollow is linkat(2) with AT_SYMLINK_FOLLOW between two roots: old is
// resolved inside r, symlinks and all (so it cannot lead out), by opening
// it, and the file opened is linked through /proc/self/fd, the way open(2)
// documents for linking an open file. Linking a directory is EPERM, as
// link(2) answers; a file the host will not open for reading cannot be
// linked this way (EACCES).
func linkFollow(r *os.Root, old string, dr *os.Root, nw string) wasip1.Errno {
	src, err := r.OpenFile(old, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return fsErrno(err)
	}
	defer src.Close()
	nd, nb, e := parentOf(dr, nw)
	if e != 0 {
		return e
	}
	defer nd.Close()
	nrc, err := nd.SyscallConn()
	if err != nil {
		return fsErrno(err)
	}
	var cerr error
	err = nrc.Control(func(nfd uintptr) {
		proc := "/proc/self/fd/" + strconv.Itoa(int(src.Fd()))
		cerr = unix.Linkat(unix.AT_FDCWD, proc, int(nfd), nb, unix.AT_SYMLINK_FOLLOW)
	})
	if err == nil {
		err = cerr
	}
	return errnoOf(err)
}

// parentOf opens, inside r, the directory that holds name's last component
// and returns it with that component (a trailing slash kept).
func parentOf(r *os.Root, name string) (*os.File, string, wasip1.Errno) {
	trimmed := strings.TrimRight(name, "/")
	if trimmed == "" {
		return nil, "", wasip1.ErrnoPerm
	}
	dir, base := path.Split(trimmed)
	if base == "." || base == ".." {
		return nil, "", wasip1.ErrnoInval
	}
	if dir == "" {
		dir = "."
	}
	d, err := r.Open(dir)
	if err != nil {
		return nil, "", fsErrno(err)
	}
	if len(trimmed) < len(name) {
		base += "/"
	}
	return d, base, 0
}

// dirErr finds why removing the directory name failed: ENOTEMPTY if it has
// entries.
func dirErr(r *os.Root, name string) (wasip1.Errno, bool) {
	d, err := r.Open(name)
	if err != nil {
		return 0, false
	}
	defer d.Close()
	if names, _ := d.Readdirnames(1); len(names) > 0 {
		return wasip1.ErrnoNotempty, true
	}
	return 0, false
}

// checkPath refuses what os.Root would otherwise read differently from WASI:
// an empty path is ENOENT, a NUL byte EINVAL, an absolute path EPERM.
func checkPath(p string) wasip1.Errno {
	switch {
	case p == "":
		return wasip1.ErrnoNoent
	case strings.IndexByte(p, 0) >= 0:
		return wasip1.ErrnoInval
	case strings.HasPrefix(p, "/"):
		return wasip1.ErrnoPerm
	}
	return 0
}
