package wasi

import "isle/internal/wasip1"

// The rights model of WASI preview 1, as pure decisions (no I/O): what a
// preopen holds, what path_open may ask for and what the new fd gets, and how
// fd_fdstat_set_rights may change an fd's rights. docs/wasi.md says, call by
// call, where isle follows wasmtime and where it differs.
//
// Rules:
//   - Rights requested are an upper bound, not a demand: the new fd gets the
//     requested rights reduced to those its object supports (dirRights for a
//     directory, fileRights for anything else); rights that no object has
//     (path_filestat_set_size, which no call uses, and the socket rights) are
//     dropped before anything is checked.
//   - What a path_open asks for (base and inheriting) must lie within the
//     directory fd's inheriting rights, or the call is ENOTCAPABLE; the
//     directory fd itself needs path_open (and path_create_file with
//     O_CREAT).
//   - A directory never gets a file-only right, so it is never writable as a
//     file; the right to write itself (fd_write) on a directory is EISDIR,
//     as open(2) with O_WRONLY is, decided by the file-system service.
//   - An fd's rights never grow: fd_fdstat_set_rights may only shrink them.

// Rights bits of WASI preview 1.
const (
	rightFdDatasync           = 1 << 0
	rightFdRead               = 1 << 1
	rightFdSeek               = 1 << 2
	rightFdFdstatSetFlags     = 1 << 3
	rightFdSync               = 1 << 4
	rightFdTell               = 1 << 5
	rightFdWrite              = 1 << 6
	rightFdAdvise             = 1 << 7
	rightFdAllocate           = 1 << 8
	rightPathCreateDirectory  = 1 << 9
	rightPathCreateFile       = 1 << 10
	rightPathLinkSource       = 1 << 11
	rightPathLinkTarget       = 1 << 12
	rightPathOpen             = 1 << 13
	rightFdReaddir            = 1 << 14
	rightPathReadlink         = 1 << 15
	rightPathRenameSource     = 1 << 16
	rightPathRenameTarget     = 1 << 17
	rightPathFilestatGet      = 1 << 18
	rightPathFilestatSetTimes = 1 << 20
	rightFdFilestatGet        = 1 << 21
	rightFdFilestatSetSize    = 1 << 22
	rightFdFilestatSetTimes   = 1 << 23
	rightPathSymlink          = 1 << 24
	rightPathRemoveDirectory  = 1 << 25
	rightPathUnlinkFile       = 1 << 26
	rightPollFdReadwrite      = 1 << 27
)

// allRights is every fd right of WASI preview 1 (bits 0–28).
const allRights = 1<<29 - 1

// dirRights are the rights a directory fd can hold: wasmtime's set for a
// preopened directory (its DirCaps): paths under it, listing, its own stat
// and times.
const dirRights = rightPathCreateDirectory | rightPathCreateFile | rightPathLinkSource |
	rightPathLinkTarget | rightPathOpen | rightFdReaddir | rightPathReadlink |
	rightPathRenameSource | rightPathRenameTarget | rightPathSymlink |
	rightPathRemoveDirectory | rightPathUnlinkFile | rightPathFilestatGet |
	rightPathFilestatSetTimes | rightFdFilestatGet | rightFdFilestatSetTimes

// fileRights are the rights a file fd can hold (wasmtime's FileCaps).
const fileRights = rightFdDatasync | rightFdRead | rightFdSeek | rightFdFdstatSetFlags |
	rightFdSync | rightFdTell | rightFdWrite | rightFdAdvise | rightFdAllocate |
	rightFdFilestatGet | rightFdFilestatSetSize | rightFdFilestatSetTimes |
	rightPollFdReadwrite

// Rights of a preopened directory, as wasmtime reports them: the directory
// rights, and for what is opened under it the directory and file rights.
const (
	preopenBase = dirRights
	preopenInh  = dirRights | fileRights
)

// openRights decides whether a directory fd holding (base, inh) may open a
// path asking for (wantBase, wantInh) with oflags, and returns the request
// reduced to rights some object has. It is ENOTCAPABLE if the directory
// lacks path_open (path_create_file under O_CREAT) or the request asks for a
// right outside the directory's inheriting rights.
func openRights(base, inh, wantBase, wantInh uint64, oflags uint16) (uint64, uint64, Errno) {
	need := uint64(rightPathOpen)
	if oflags&wasip1.OflagsCreat != 0 {
		need |= rightPathCreateFile
	}
	if base&need != need {
		return 0, 0, ENOTCAPABLE
	}
	wantBase &= dirRights | fileRights
	wantInh &= dirRights | fileRights
	if (wantBase|wantInh)&^inh != 0 {
		return 0, 0, ENOTCAPABLE
	}
	return wantBase, wantInh, ESUCCESS
}

// openedRights are the rights the fd of a newly opened object of WASI file
// type typ gets from the (already checked) request: a directory keeps the
// directory rights and passes the inheriting rights down; anything else
// keeps the file rights and has no inheriting rights (as in wasmtime).
func openedRights(typ uint8, base, inh uint64) (uint64, uint64) {
	if typ == wasip1.FiletypeDirectory {
		return base & dirRights, inh
	}
	return base & fileRights, 0
}

// rightsMasks are the rights an fd can hold as base and as inheriting
// rights: a directory's and a file's as above; console streams and sockets
// keep whatever they were given.
func (e *fdEntry) rightsMasks() (uint64, uint64) {
	switch {
	case e.notFile():
		return allRights, allRights
	case e.isDir():
		return dirRights, dirRights | fileRights
	}
	return fileRights, 0
}

// setRights decides fd_fdstat_set_rights on an fd holding (base, inh) whose
// object supports (baseMask, inhMask): the new rights, reduced to what the
// object supports, must lie within the old ones (ENOTCAPABLE otherwise).
func setRights(base, inh, baseMask, inhMask, newBase, newInh uint64) (uint64, uint64, Errno) {
	newBase &= baseMask
	newInh &= inhMask
	if newBase&^base != 0 || newInh&^inh != 0 {
		return 0, 0, ENOTCAPABLE
	}
	return newBase, newInh, ESUCCESS
}
