package service

// The file-system service's requests, typed: each operation's arguments are
// named fields; Put fills a kernel.Request's slots with them (Fd always the
// handle the operation names: a file, or the directory a path is relative
// to), and the worker reads them back with the matching accessor. Results
// are read as each type says.

import "isle/internal/kernel"

// Flag bits of the file-system requests (kernel.Request.Flags), above the
// WASI flags that some requests carry in the low 32 bits.
const (
	fsFollow = 1 << 32 // follow a final symlink
	fsRead   = 1 << 33 // an open for reading
	fsWrite  = 1 << 34 // an open for writing
	fsAppend = 1 << 35 // a set-flags' APPEND
	fsRO     = 1 << 36 // an adopted file lies under a read-only preopen
)

// FSOpenReq opens Path in directory Dir, with path_open's flags; the
// reply is read with FSOpenedOf.
type FSOpenReq struct {
	Dir                 int32
	Path                string
	Oflags, Fdflags     uint16 // WASI's
	Follow, Read, Write bool
}

// Put makes r this request.
func (a FSOpenReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Str = FSOpen, a.Dir, a.Path
	r.Flags = uint64(a.Oflags) | uint64(a.Fdflags)<<16 | flag(a.Follow, fsFollow) | flag(a.Read, fsRead) | flag(a.Write, fsWrite)
}

func fsOpenOf(r *kernel.Request) FSOpenReq {
	return FSOpenReq{Dir: r.Fd, Path: r.Str, Oflags: uint16(r.Flags), Fdflags: uint16(r.Flags >> 16),
		Follow: r.Flags&fsFollow != 0, Read: r.Flags&fsRead != 0, Write: r.Flags&fsWrite != 0}
}

// FSOpened is an open's result.
type FSOpened struct {
	Handle   int32
	Type     uint8 // WASI's filetype
	ReadOnly bool  // it lies under a read-only preopen
	Lend     int64 // the lent-descriptor bits (LentFd, FSLocal), or 0
}

// put makes r's results o (in N, and Off: the type in the low byte,
// FSReadOnly, the lent-descriptor bits above).
func (o FSOpened) put(r *kernel.Request) {
	r.N, r.Off = int64(o.Handle), int64(o.Type)|roBit(o.ReadOnly)|o.Lend
}

// FSOpenedOf reads an open's reply.
func FSOpenedOf(r *kernel.Request) FSOpened {
	return FSOpened{Handle: int32(r.N), Type: uint8(r.Off), ReadOnly: r.Off&FSReadOnly != 0,
		Lend: r.Off &^ (0xff | FSReadOnly)}
}

// FSCloseReq closes Handle.
type FSCloseReq struct {
	Handle int32
}

// Put makes r this request.
func (a FSCloseReq) Put(r *kernel.Request) { r.Op, r.Fd = FSClose, a.Handle }

// FSReadReq reads at most Max bytes of Handle into the request's Buf, at
// offset At, or at the file's offset when At < 0; the reply's N is the
// bytes read.
type FSReadReq struct {
	Handle  int32
	Max, At int64
}

// Put makes r this request.
func (a FSReadReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.N, r.Off = FSRead, a.Handle, a.Max, 0
	if a.At >= 0 {
		r.Op, r.Off = FSPread, a.At
	}
}

func fsReadOf(r *kernel.Request) FSReadReq {
	a := FSReadReq{Handle: r.Fd, Max: r.N, At: -1}
	if r.Op == FSPread {
		a.At = r.Off
	}
	return a
}

// FSWriteReq writes the request's Buf to Handle at offset At, or at the
// file's offset (its end if it appends) when At < 0; the reply's N is the
// bytes written, and for At < 0 its Off the file's offset after the write.
type FSWriteReq struct {
	Handle int32
	At     int64
}

// Put makes r this request; r.Buf, the bytes to write, is left as it is.
func (a FSWriteReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off = FSWrite, a.Handle, 0
	if a.At >= 0 {
		r.Op, r.Off = FSPwrite, a.At
	}
}

// FSWritten is a write's result: N bytes written, and, for a write at the
// file's offset, Offset, where the file's offset is after it.
type FSWritten struct {
	N, Offset int64
}

// FSWrittenOf reads a write's reply.
func FSWrittenOf(r *kernel.Request) FSWritten { return FSWritten{N: r.N, Offset: r.Off} }

func fsWriteOf(r *kernel.Request) FSWriteReq {
	a := FSWriteReq{Handle: r.Fd, At: -1}
	if r.Op == FSPwrite {
		a.At = r.Off
	}
	return a
}

// FSSeekReq moves Handle's offset by Offset from Whence (WASI's); the
// reply's N is the new offset.
type FSSeekReq struct {
	Handle int32
	Offset int64
	Whence uint8
}

// Put makes r this request.
func (a FSSeekReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off, r.Flags = FSSeek, a.Handle, a.Offset, uint64(a.Whence)
}

func fsSeekOf(r *kernel.Request) FSSeekReq {
	return FSSeekReq{Handle: r.Fd, Offset: r.Off, Whence: uint8(r.Flags)}
}

// FSStatReq asks for Handle's filestat, in the reply's Buf.
type FSStatReq struct {
	Handle int32
}

// Put makes r this request.
func (a FSStatReq) Put(r *kernel.Request) { r.Op, r.Fd = FSStat, a.Handle }

// FSPathReq is one of the operations on one path in directory Dir:
// FSPathStat (the filestat in the reply's Buf; Follow: of a final
// symlink's target), FSReadlink (the target in the reply's Buf), FSMkdir,
// FSUnlink, FSRmdir.
type FSPathReq struct {
	Op     uint32
	Dir    int32
	Path   string
	Follow bool
}

// Put makes r this request.
func (a FSPathReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Str, r.Flags = a.Op, a.Dir, a.Path, flag(a.Follow, fsFollow)
}

func fsPathOf(r *kernel.Request) FSPathReq {
	return FSPathReq{Op: r.Op, Dir: r.Fd, Path: r.Str, Follow: r.Flags&fsFollow != 0}
}

// FSSetSizeReq truncates or extends Handle to Size bytes.
type FSSetSizeReq struct {
	Handle int32
	Size   int64
}

// Put makes r this request.
func (a FSSetSizeReq) Put(r *kernel.Request) { r.Op, r.Fd, r.Off = FSSetSize, a.Handle, a.Size }

func fsSetSizeOf(r *kernel.Request) FSSetSizeReq { return FSSetSizeReq{Handle: r.Fd, Size: r.Off} }

// FSTimes are set-times arguments: WASI's fstflags say which of Atim and
// Mtim (ns since the epoch) to set, and which to set to now.
type FSTimes struct {
	Atim, Mtim uint64
	Fst        uint16
}

// FSSetTimesReq sets Handle's times.
type FSSetTimesReq struct {
	Handle int32
	Times  FSTimes
}

// Put makes r this request.
func (a FSSetTimesReq) Put(r *kernel.Request) {
	r.Op, r.Fd = FSSetTimes, a.Handle
	putTimes(r, a.Times, false)
}

func fsSetTimesOf(r *kernel.Request) FSSetTimesReq {
	return FSSetTimesReq{Handle: r.Fd, Times: timesOf(r)}
}

// FSPathSetTimesReq sets the times of Path in directory Dir (Follow: of a
// final symlink's target).
type FSPathSetTimesReq struct {
	Dir    int32
	Path   string
	Follow bool
	Times  FSTimes
}

// Put makes r this request.
func (a FSPathSetTimesReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Str = FSPathSetTimes, a.Dir, a.Path
	putTimes(r, a.Times, a.Follow)
}

func fsPathSetTimesOf(r *kernel.Request) FSPathSetTimesReq {
	return FSPathSetTimesReq{Dir: r.Fd, Path: r.Str, Follow: r.Flags&fsFollow != 0, Times: timesOf(r)}
}

func putTimes(r *kernel.Request, t FSTimes, follow bool) {
	r.Off, r.N, r.Flags = int64(t.Atim), int64(t.Mtim), uint64(t.Fst)|flag(follow, fsFollow)
}

func timesOf(r *kernel.Request) FSTimes {
	return FSTimes{Atim: uint64(r.Off), Mtim: uint64(r.N), Fst: uint16(r.Flags)}
}

// FSRenameReq renames Old, in directory Dir, to New, in directory NewDir.
type FSRenameReq struct {
	Dir    int32
	Old    string
	NewDir int32
	New    string
}

// Put makes r this request.
func (a FSRenameReq) Put(r *kernel.Request) {
	r.Op, r.Fd = FSRename, a.Dir
	putTwoPaths(r, a.Old, a.NewDir, a.New)
}

func fsRenameOf(r *kernel.Request) FSRenameReq {
	old, newDir, nw := twoPathsOf(r)
	return FSRenameReq{Dir: r.Fd, Old: old, NewDir: newDir, New: nw}
}

// putTwoPaths and twoPathsOf are the paths of a rename and of a link, which
// the worker serves alike.
func putTwoPaths(r *kernel.Request, old string, newDir int32, nw string) {
	r.Str, r.Off, r.Str2 = old, int64(newDir), nw
}

func twoPathsOf(r *kernel.Request) (old string, newDir int32, nw string) {
	return r.Str, int32(r.Off), r.Str2
}

// FSLinkReq makes New, in directory NewDir, a hard link to Old, in
// directory Dir (Follow: to a final symlink's target).
type FSLinkReq struct {
	Dir    int32
	Old    string
	Follow bool
	NewDir int32
	New    string
}

// Put makes r this request.
func (a FSLinkReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Flags = FSLink, a.Dir, flag(a.Follow, fsFollow)
	putTwoPaths(r, a.Old, a.NewDir, a.New)
}

func fsLinkOf(r *kernel.Request) FSLinkReq {
	old, newDir, nw := twoPathsOf(r)
	return FSLinkReq{Dir: r.Fd, Old: old, Follow: r.Flags&fsFollow != 0, NewDir: newDir, New: nw}
}

// FSSymlinkReq makes Path, in directory Dir, a symlink to Target.
type FSSymlinkReq struct {
	Target string
	Dir    int32
	Path   string
}

// Put makes r this request.
func (a FSSymlinkReq) Put(r *kernel.Request) {
	r.Op, r.Str2, r.Fd, r.Str = FSSymlink, a.Target, a.Dir, a.Path
}

func fsSymlinkOf(r *kernel.Request) FSSymlinkReq {
	return FSSymlinkReq{Target: r.Str2, Dir: r.Fd, Path: r.Str}
}

// FSReaddirReq lists directory Handle from Cookie, at least Max bytes of
// WASI dirents if there are, in the reply's Buf.
type FSReaddirReq struct {
	Handle      int32
	Cookie, Max int64
}

// Put makes r this request.
func (a FSReaddirReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off, r.N = FSReaddir, a.Handle, a.Cookie, a.Max
}

func fsReaddirOf(r *kernel.Request) FSReaddirReq {
	return FSReaddirReq{Handle: r.Fd, Cookie: r.Off, Max: r.N}
}

// FSSyncReq is fsync of Handle, or fdatasync if DataOnly.
type FSSyncReq struct {
	Handle   int32
	DataOnly bool
}

// Put makes r this request.
func (a FSSyncReq) Put(r *kernel.Request) {
	r.Op, r.Fd = FSSync, a.Handle
	if a.DataOnly {
		r.Op = FSDatasync
	}
}

// FSSetFlagsReq sets or clears Handle's APPEND flag.
type FSSetFlagsReq struct {
	Handle int32
	Append bool
}

// Put makes r this request.
func (a FSSetFlagsReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Flags = FSSetFlags, a.Handle, flag(a.Append, fsAppend)
}

func fsSetFlagsOf(r *kernel.Request) FSSetFlagsReq {
	return FSSetFlagsReq{Handle: r.Fd, Append: r.Flags&fsAppend != 0}
}

// FSAllocateReq makes Handle at least Off+Len bytes long.
type FSAllocateReq struct {
	Handle   int32
	Off, Len int64
}

// Put makes r this request.
func (a FSAllocateReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off, r.N = FSAllocate, a.Handle, a.Off, a.Len
}

func fsAllocateOf(r *kernel.Request) FSAllocateReq {
	return FSAllocateReq{Handle: r.Fd, Off: r.Off, Len: r.N}
}

// FSCloseAllReq closes every handle AppendHandle listed in the request's
// Buf.
type FSCloseAllReq struct{}

// Put makes r this request, its list empty.
func (FSCloseAllReq) Put(r *kernel.Request) { r.Op, r.Buf = FSCloseAll, r.Buf[:0] }

// FSAdoptReq, posted, hands the worker the file a SIP opened on its core
// (OpenNow): host descriptor HostFd, under a read-only preopen if
// ReadOnly, charged to PID. The SIP then names it AdoptedHandle(HostFd,
// ReadOnly).
type FSAdoptReq struct {
	HostFd   int32
	ReadOnly bool
	PID      int64
}

// Put makes r this request.
func (a FSAdoptReq) Put(r *kernel.Request) {
	r.Op, r.N, r.Off, r.Flags = FSAdopt, int64(a.HostFd), a.PID, flag(a.ReadOnly, fsRO)
}

func fsAdoptOf(r *kernel.Request) FSAdoptReq {
	return FSAdoptReq{HostFd: int32(r.N), ReadOnly: r.Flags&fsRO != 0, PID: r.Off}
}
