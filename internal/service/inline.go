package service

// Host calls a core may make itself. A core never blocks on the host: that
// is why the workers exist. But most small file and socket calls would not
// block, and sending each to a worker costs two ring messages, two
// coroutine switches and a goroutine hand-off. So the few host calls that
// are known to end at once are offered here, for the personality to make
// on the SIP's coroutine; whenever one could wait, it says so (Again) and
// the personality sends the call to the worker, as before.
//
// The rules:
//
//   - A regular file's or a connection's host descriptor is lent to the
//     SIP that owns its handle (FSOpen's and NetAccept's replies carry it).
//     The worker still owns the descriptor and closes it only on that SIP's
//     close (FSClose, FSCloseAll, NetClose, NetCloseAll) or after the cores
//     have ended (Close); the SIP forgets the descriptor before it asks for
//     the close, so a loan never outlives its file.
//   - A file the SIP opens on its core (OpenNow, inlinepath.go) is handed
//     to the worker at once (FSAdopt, posted), which then owns it as its
//     own: the same rule holds.
//   - Files: preadv2/pwritev2 with RWF_NOWAIT, which Linux answers with
//     EAGAIN instead of waiting for the disk (a page-cache miss, a write
//     that would wait for writeback or a lock), at most InlineIOMax bytes.
//     A file system that does not take RWF_NOWAIT answers EOPNOTSUPP (or
//     EINVAL): Never, and the personality stops trying on that fd.
//   - Sockets: recv and send with MSG_DONTWAIT, and poll(2) with a zero
//     timeout; EAGAIN (or a poll that finds nothing ready) is Again.
//   - Nothing here touches a worker's tables; each call is one system call
//     that allocates nothing.

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"isle/internal/wasip1"
)

// Limits in one place.
const (
	// InlineIOMax is the most bytes one inline read or write moves: a
	// page-cache copy of 64 KiB takes a few microseconds, well inside the
	// cost of the worker round trip it saves; larger transfers go to the
	// worker, which moves up to maxFSChunk at a time.
	InlineIOMax = 64 << 10
	// InlineIovMax is the most buffers one inline call takes (on the
	// stack); a call with more goes to the worker.
	InlineIovMax = 16
)

// Inline is the outcome of an inline host call.
type Inline uint8

const (
	Done  Inline = iota // the call ended; its count and errno are the answer
	Again               // it would have waited: send it to the worker
	Never               // the host file does not take RWF_NOWAIT: always send this fd's calls to the worker
)

// FS open results (FSOpen's Off, above the filetype and FSReadOnly): a
// regular file's host descriptor, lent to the SIP for inline calls, is in
// bits 32–62; FSLent says it is there.
const (
	FSLent    = 1 << 9
	lentShift = 32
)

// LentFd returns the host descriptor an FSOpen or NetAccept reply's Off
// lends, and whether it lends one.
func LentFd(off int64) (int32, bool) {
	if off&FSLent == 0 {
		return -1, false
	}
	return int32(off >> lentShift), true
}

func lend(fd int) int64 {
	if fd < 0 || fd > 1<<30 {
		return 0
	}
	return FSLent | int64(fd)<<lentShift
}

// iovs fills a stack array of host iovecs from bufs (empty ones skipped).
func iovs(arr *[InlineIovMax]unix.Iovec, bufs [][]byte) int {
	k := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		arr[k].Base = &b[0]
		arr[k].SetLen(len(b))
		k++
	}
	return k
}

// PreadNowait reads into bufs (at most InlineIovMax of them, InlineIOMax
// bytes in all: the caller cuts them) from host file fd at off, or at the
// file's own offset if off < 0, without waiting for I/O.
func PreadNowait(fd int32, bufs [][]byte, off int64) (int, wasip1.Errno, Inline) {
	return rwNowait(unix.SYS_PREADV2, fd, bufs, off)
}

// PwriteNowait writes bufs to host file fd at off (at the file's own
// offset if off < 0; at its end if it was opened to append), without
// waiting for I/O.
func PwriteNowait(fd int32, bufs [][]byte, off int64) (int, wasip1.Errno, Inline) {
	return rwNowait(unix.SYS_PWRITEV2, fd, bufs, off)
}

func rwNowait(trap uintptr, fd int32, bufs [][]byte, off int64) (int, wasip1.Errno, Inline) {
	if len(bufs) > InlineIovMax {
		return 0, 0, Again
	}
	var arr [InlineIovMax]unix.Iovec
	k := iovs(&arr, bufs)
	if k == 0 {
		return 0, 0, Done
	}
	// preadv2(fd, iov, iovcnt, pos_l, pos_h, flags); pos_h is 0 on 64-bit
	// hosts, and -1 in pos_l asks for the file's own offset.
	n, _, e := unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&arr[0])), uintptr(k),
		uintptr(off), 0, unix.RWF_NOWAIT)
	switch e {
	case 0:
		return int(n), 0, Done
	case unix.EAGAIN:
		return 0, 0, Again
	case unix.EOPNOTSUPP, unix.EINVAL, unix.ENOSYS:
		return 0, 0, Never
	}
	return 0, fsErrno(e), Done
}

// OffsetNow returns host file fd's own offset (lseek SEEK_CUR, which reads
// a field of the open file and never waits).
func OffsetNow(fd int32) (int64, bool) {
	off, err := unix.Seek(int(fd), 0, unix.SEEK_CUR)
	return off, err == nil
}

// RecvNow receives into b from connection fd what it holds now (peek:
// leaving it there). 0 with Done is the end of the stream.
func RecvNow(fd int32, b []byte, peek bool) (int, wasip1.Errno, Inline) {
	if len(b) == 0 {
		return 0, 0, Again
	}
	flags := unix.MSG_DONTWAIT
	if peek {
		flags |= unix.MSG_PEEK
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		uintptr(flags), 0, 0)
	switch e {
	case 0:
		return int(n), 0, Done
	case unix.EAGAIN, unix.EINTR:
		return 0, 0, Again
	}
	return 0, netErrno(e), Done
}

// SendNow sends what connection fd takes of b now.
func SendNow(fd int32, b []byte) (int, wasip1.Errno, Inline) {
	if len(b) == 0 {
		return 0, 0, Done
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	switch e {
	case 0:
		return int(n), 0, Done
	case unix.EAGAIN, unix.EINTR:
		return 0, 0, Again
	}
	return 0, netErrno(e), Done
}

// ListenerFd returns a listener's host descriptor, lent to every SIP for
// inline readiness checks (Poller); the machine closes it only after its
// cores have ended.
func ListenerFd(l *net.TCPListener) int32 {
	rc, err := l.SyscallConn()
	if err != nil {
		return -1
	}
	fd := int32(-1)
	rc.Control(func(d uintptr) { fd = int32(d) })
	return fd
}

// YieldCPU gives the host CPU that the calling goroutine's thread runs on
// to another runnable thread, if the host has one waiting for it
// (sched_yield(2)); it returns at once when none is. A core calls it
// before it looks again at sockets that were not ready (wasi's
// poll_oneoff): it neither blocks nor sleeps.
func YieldCPU() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// Poller asks poll(2), with a zero timeout, which of some lent descriptors
// are ready. Owned by one SIP's coroutine; its array is reused.
type Poller struct {
	pfds []unix.PollFd
}

// Reset starts a new set.
func (p *Poller) Reset() { p.pfds = p.pfds[:0] }

// Add asks for fd's read (ev&1) or write (ev&2) readiness.
func (p *Poller) Add(fd int32, ev uint16) {
	pf := unix.PollFd{Fd: fd}
	if ev&1 != 0 {
		pf.Events |= unix.POLLIN
	}
	if ev&2 != 0 {
		pf.Events |= unix.POLLOUT
	}
	p.pfds = append(p.pfds, pf)
}

// Now polls the set without waiting; false if poll(2) failed.
func (p *Poller) Now() bool {
	if len(p.pfds) == 0 {
		return true
	}
	_, _, e := unix.Syscall(unix.SYS_POLL, uintptr(unsafe.Pointer(&p.pfds[0])), uintptr(len(p.pfds)), 0)
	return e == 0
}

// Events returns entry i's ready events, as NetPoll reports them (1 read,
// 2 write, 4 hung up).
func (p *Poller) Events(i int) uint16 { return readyEvents(p.pfds[i].Revents) }

// readyEvents maps poll(2)'s revents to NetPoll's events: 1 read, 2 write, 4
// hung up (both directions closed: POLLHUP; a peer that only shut down its
// side is readable, not hung up, so a server still answers it).
func readyEvents(r int16) uint16 {
	var ev uint16
	if r&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
		ev |= 1
	}
	if r&(unix.POLLOUT|unix.POLLERR) != 0 {
		ev |= 2
	}
	if r&unix.POLLHUP != 0 {
		ev |= 4
	}
	return ev
}

// WriterFd returns the host descriptor of a console writer that is a host
// file (a pipe, a terminal, a file), lent to every SIP for inline writes
// with RWF_NOWAIT (PwriteNowait at offset -1); -1 for any other writer. The
// embedder keeps it open while the machine runs. Writes made on a core and
// by the console worker for other SIPs may interleave as two processes'
// writes to one pipe do; one SIP's stay in order, since it sends what it
// holds before it writes on its own.
func WriterFd(w io.Writer) int32 { return fileFd(w) }

// WriterFdOf is WriterFd of a reader: stdin's host descriptor, or -1.
func WriterFdOf(r io.Reader) int32 { return fileFd(r) }

func fileFd(x any) int32 {
	f, ok := x.(*os.File)
	if !ok || f == nil {
		return -1
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	fd := int32(-1)
	rc.Control(func(d uintptr) { fd = int32(d) })
	return fd
}

// FSLocal is set in FSOpen's result beside FSLent when the file lies on a
// local disk or memory file system (localFS), whose fstat reads the inode
// the open file pins in memory and never waits: the SIP may then stat the
// lent descriptor itself (StatNow). A network or FUSE file system's fstat
// may ask its server (NFS revalidates attributes), so it stays with the
// worker.
const FSLocal = 1 << 10

// localFS reports whether host descriptor fd's file system is one whose
// fstat never waits: ext2/3/4, XFS, Btrfs, tmpfs, or overlayfs over them.
func localFS(fd int) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return false
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC, unix.OVERLAYFS_SUPER_MAGIC:
		return true
	}
	return false
}

// StatNow fills out with the WASI filestat of lent file or directory fd,
// by fstat on the core; false if fstat failed (send FSStat to the worker).
func StatNow(fd int32, out *[wasip1.FilestatSize]byte) bool {
	var st unix.Stat_t
	if unix.Fstat(int(fd), &st) != nil {
		return false
	}
	*out = [wasip1.FilestatSize]byte{}
	le := binary.LittleEndian
	le.PutUint64(out[0:], st.Dev)
	le.PutUint64(out[8:], st.Ino)
	out[16] = wasip1.FiletypeUnknown // lent descriptors are regular files and directories
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		out[16] = wasip1.FiletypeRegularFile
	case unix.S_IFDIR:
		out[16] = wasip1.FiletypeDirectory
	}
	le.PutUint64(out[24:], uint64(st.Nlink))
	le.PutUint64(out[32:], uint64(st.Size))
	le.PutUint64(out[40:], uint64(st.Atim.Nano()))
	le.PutUint64(out[48:], uint64(st.Mtim.Nano()))
	le.PutUint64(out[56:], uint64(st.Ctim.Nano()))
	return true
}
