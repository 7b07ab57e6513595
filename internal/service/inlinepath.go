package service

// Path lookups a core may make itself (docs/wasi.md, "Calls served on the
// core"). A path is resolved under a lent directory descriptor with
// openat2(2) and these rules, so that the answer is the one the worker's
// os.Root gives, or the call goes to the worker:
//
//   - RESOLVE_CACHED: Linux answers EAGAIN when a component is not in the
//     dentry cache (the lookup would read a directory from disk), so the
//     core never waits; the worker then does the lookup.
//   - RESOLVE_BENEATH: nothing outside the directory is reached (an
//     absolute path or a ".." above it is EXDEV, which the worker then
//     answers with EPERM, as it answers every escape).
//   - RESOLVE_NO_SYMLINKS: a symlink anywhere in the path but at its end
//     (under O_NOFOLLOW) is ELOOP here, and the worker resolves it: os.Root
//     walks symlinks and ".." by its own rules, and a path that has no
//     symlink is resolved the same way by both. (It implies
//     RESOLVE_NO_MAGICLINKS.)
//   - RESOLVE_NO_XDEV: the lookup stays on the directory's file system,
//     which the worker found to be local (FSLocal), whose fstat never waits.
//
// Only success, ENOENT and ENOTDIR are answered on the core; every other
// error goes to the worker, whose errno stands. The caller leaves to the
// worker the paths whose reading differs (checkPath's, a ".." component, a
// final "/"): PathInline says which.

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// resolveCached is openat2's RESOLVE_CACHED (Linux 5.12), which x/sys does
// not name.
const resolveCached = 0x20

// PathInline reports whether path is one a core may look up itself:
// relative, not empty, without NUL, ".." components or a final "/" (which
// make the kernel and os.Root read it differently or need checkPath's
// answer).
func PathInline(path string) bool {
	if checkPath(path) != 0 || strings.HasSuffix(path, "/") {
		return false
	}
	for c := range strings.SplitSeq(path, "/") {
		if c == ".." {
			return false
		}
	}
	return true
}

// openBeneath opens path under lent directory dirfd with O_PATH and the
// rules above (not following a final symlink unless follow).
func openBeneath(dirfd int32, path string, follow bool) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | resolveCached,
	}
	if !follow {
		how.Flags |= unix.O_NOFOLLOW
	}
	return unix.Openat2(int(dirfd), path, &how)
}

// PathStatNow fills out with the WASI filestat of path under lent directory
// dirfd (a path PathInline accepts), as FSPathStat would: Done with errno 0,
// ENOENT or ENOTDIR; Again for anything the worker must answer; Never if
// the host has no openat2 with RESOLVE_CACHED (send every lookup to the
// worker).
func PathStatNow(dirfd int32, path string, follow bool, out *[wasip1.FilestatSize]byte) (wasip1.Errno, Inline) {
	fd, err := openBeneath(dirfd, path, follow)
	switch err {
	case nil:
	case unix.ENOENT:
		return wasip1.ErrnoNoent, Done
	case unix.ENOTDIR:
		return wasip1.ErrnoNotdir, Done
	case unix.ENOSYS, unix.EINVAL, unix.E2BIG:
		return 0, Never
	default:
		return 0, Again
	}
	defer unix.Close(fd)
	var sx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC|unix.AT_NO_AUTOMOUNT, unix.STATX_BASIC_STATS, &sx) != nil {
		return 0, Again
	}
	statxFilestat(&sx, out)
	return 0, Done
}

// statxFilestat is appendFilestat of a statx result: the same fields, the
// same file types.
func statxFilestat(sx *unix.Statx_t, out *[wasip1.FilestatSize]byte) {
	*out = [wasip1.FilestatSize]byte{}
	le := binary.LittleEndian.PutUint64
	le(out[0:], unix.Mkdev(sx.Dev_major, sx.Dev_minor))
	le(out[8:], sx.Ino)
	out[16] = modeFiletype(uint32(sx.Mode))
	le(out[24:], uint64(sx.Nlink))
	le(out[32:], sx.Size)
	le(out[40:], statxNano(sx.Atime))
	le(out[48:], statxNano(sx.Mtime))
	le(out[56:], statxNano(sx.Ctime))
}

func statxNano(t unix.StatxTimestamp) uint64 {
	return uint64(t.Sec*1e9 + int64(t.Nsec))
}

// modeFiletype is filetype of a host st_mode.
func modeFiletype(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return wasip1.FiletypeRegularFile
	case unix.S_IFDIR:
		return wasip1.FiletypeDirectory
	case unix.S_IFLNK:
		return wasip1.FiletypeSymbolicLink
	case unix.S_IFCHR:
		return wasip1.FiletypeCharacterDevice
	case unix.S_IFBLK:
		return wasip1.FiletypeBlockDevice
	case unix.S_IFSOCK:
		return wasip1.FiletypeSocketStream
	}
	return wasip1.FiletypeUnknown
}

// PreopenLends returns, for each preopen the worker serves, the lent-
// descriptor bits of its directory (FSLent, FSLocal, as FSOpen's result
// gives them for a directory): lent to every SIP for fstat and path
// lookups on the core. The worker closes them only after the cores have
// ended (Close). Call before Boot.
func (f *FS) PreopenLends() []int64 {
	out := make([]int64, f.npre)
	for i := range f.npre {
		out[i] = lendFile(f.nodes[i].file)
	}
	return out
}

// OpenNow opens regular file path under lent directory dirfd (a path
// PathInline accepts) for reading, by the rules above, as FSOpen would
// open it read-only: Done with the new host descriptor (which the caller
// hands to the worker at once with FSAdopt) or with ENOENT; Again for
// anything else (not a regular file, a symlink, an uncached lookup, an
// escape), which the worker answers.
func OpenNow(dirfd int32, path string, follow bool) (int32, wasip1.Errno, Inline) {
	fd, _, errno, how := OpenEntryNow(dirfd, path, follow, false, false)
	return fd, errno, how
}

// OpenEntryNow is OpenNow that may also open a directory (dirs), as FSOpen
// opens one read-only, or only a directory (wantDir: O_DIRECTORY, where a
// name that is not one is left to the worker, which answers ENOTDIR). It
// says the file type of what it opened. A FIFO or a device is never
// opened: an O_PATH lookup sees what the name is first, and the open
// itself is O_NONBLOCK (cleared after) so that a name swapped for a FIFO
// in between cannot make the core wait; the type seen by fstat after the
// open must be the one the lookup saw.
func OpenEntryNow(dirfd int32, path string, follow, dirs, wantDir bool) (int32, uint8, wasip1.Errno, Inline) {
	var st [wasip1.FilestatSize]byte
	errno, how := PathStatNow(dirfd, path, follow, &st)
	if how != Done || errno != 0 {
		return -1, 0, errno, how
	}
	typ := st[16]
	oh := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | resolveCached,
	}
	mode := uint32(unix.S_IFREG)
	switch {
	case typ == wasip1.FiletypeDirectory && dirs:
		oh.Flags |= unix.O_DIRECTORY
		mode = unix.S_IFDIR
	case typ != wasip1.FiletypeRegularFile || wantDir:
		return -1, 0, 0, Again
	}
	fd, err := unix.Openat2(int(dirfd), path, &oh)
	if err != nil {
		return -1, 0, 0, Again
	}
	var fst unix.Stat_t
	if unix.Fstat(fd, &fst) != nil || fst.Mode&unix.S_IFMT != mode || fd > maxAdoptedFd {
		unix.Close(fd)
		return -1, 0, 0, Again
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return -1, 0, 0, Again
	}
	return int32(fd), typ, 0, Done
}

// AdoptedDirFDs is the host descriptors an adopted directory holds: its
// own, opened on the core, and its os.Root's, which the worker opens when
// it adopts it (newAdopted). The core charges both to the machine's budget.
const AdoptedDirFDs = 2

// AdoptedHandle is the handle by which a SIP names, in its worker's
// requests, a file it opened on its core (OpenNow, FSAdopt): below -1, so
// that it never meets a handle of the worker's table, and saying the host
// descriptor and whether the file lies under a read-only preopen, so that
// the worker can serve a request that overtook the FSAdopt (adoptedNode).
func AdoptedHandle(hostFd int32, ro bool) int32 {
	v := hostFd << 1
	if ro {
		v |= 1
	}
	return -2 - v
}

// adoptedFd decodes an AdoptedHandle.
func adoptedFd(h int32) (int32, bool) {
	v := -2 - h
	return v >> 1, v&1 != 0
}

// maxAdoptedFd is the largest host descriptor an AdoptedHandle can say.
const maxAdoptedFd = 1<<29 - 1

// Adoption. The SIP posts FSAdopt on its core's ring and goes on; if it
// then moves to another core, a request it makes there (a read the core
// could not finish, its close) may reach the worker first, since the
// worker reads each core's ring in its own order. So:
//
//   - a call naming a file not yet adopted adopts it then, for the SIP that
//     asked (adoptedNode), and the FSAdopt that follows finds it adopted;
//   - a close of a file not yet adopted (FSClose, FSCloseAll) leaves it
//     open and marks it (f.closedEarly): its FSAdopt closes it. Until then
//     the descriptor stays open, so its number cannot be given to another
//     file that the late FSAdopt would take instead.
//
// Every adoption charges the SIP's quota once; the machine's budget was
// charged on the core (TakeOne) and comes back when the file is closed.

// adopt handles FSAdopt (FSAdoptReq). It never fails: the SIP already uses the descriptor, so closing it
// here would let its number name another file.
func (f *FS) adopt(req *kernel.Request) {
	a := fsAdoptOf(req)
	fd := a.HostFd
	if f.closedEarly[fd] || f.closed { // closed first, or the machine stopped meanwhile: nobody uses it
		delete(f.closedEarly, fd)
		f.fds.give(adoptedCharge(fd))
		unix.Close(int(fd))
		return
	}
	if f.adopted[fd] != nil {
		return // a request that overtook this one adopted it
	}
	f.newAdopted(fd, a.ReadOnly, a.PID)
}

// adoptedCharge is what the core charged the machine's budget for adopted
// descriptor fd, not yet closed: AdoptedDirFDs for a directory.
func adoptedCharge(fd int32) int {
	var st unix.Stat_t
	if unix.Fstat(int(fd), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return AdoptedDirFDs
	}
	return 1
}

// newAdopted enters host descriptor fd in the worker's table for pid. A
// directory gets its os.Root, for the paths and readdirs under it, opened
// through the descriptor's own /proc link (the very directory the core
// opened, wherever it has moved since); if that fails the descriptor the
// core charged for it comes back, and the directory answers as a file
// would (ENOTDIR to what needs a directory).
func (f *FS) newAdopted(fd int32, ro bool, pid int64) *node {
	n := &node{file: os.NewFile(uintptr(fd), "adopted"), ro: ro, owner: pid}
	if adoptedCharge(fd) == AdoptedDirFDs {
		r, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(int(fd)))
		if err != nil {
			f.fds.give(AdoptedDirFDs - 1)
		} else {
			n.root = r
		}
	}
	if f.adopted == nil {
		f.adopted = map[int32]*node{}
	}
	f.adopted[fd] = n
	f.quota[pid]++
	return n
}

// adoptedNode is the node of adopted handle h for req: adopted now, for
// the SIP that sent req, if req overtook its FSAdopt (a close never comes
// here: closeAdopted); nil for a file closed before, or with no req.
func (f *FS) adoptedNode(h int32, req *kernel.Request) *node {
	fd, ro := adoptedFd(h)
	if n := f.adopted[fd]; n != nil {
		return n
	}
	if req == nil || f.closedEarly[fd] || fd < 0 {
		return nil
	}
	return f.newAdopted(fd, ro, req.PID())
}

// closeAdopted closes adopted handle h and gives back what it was charged,
// or, if its FSAdopt has not come yet, leaves that to it.
func (f *FS) closeAdopted(h int32) {
	fd, _ := adoptedFd(h)
	n := f.adopted[fd]
	if n == nil {
		if fd >= 0 {
			if f.closedEarly == nil {
				f.closedEarly = map[int32]bool{}
			}
			f.closedEarly[fd] = true
		}
		return
	}
	delete(f.adopted, fd)
	n.close()
	f.quota.release(f.fds, n.owner, n.hostFDs())
}

// CloseNow closes a descriptor OpenNow opened that was not handed to the
// worker.
func CloseNow(fd int32) { unix.Close(int(fd)) }
