package wasip1

// Filetype is a file's type (wasi_snapshot_preview1 `filetype`, a u8), as
// fd_fdstat_get, fd_filestat_get and fd_readdir report it.
type Filetype = uint8

// The file types of WASI preview 1.
const (
	FiletypeUnknown         Filetype = 0
	FiletypeBlockDevice     Filetype = 1
	FiletypeCharacterDevice Filetype = 2
	FiletypeDirectory       Filetype = 3
	FiletypeRegularFile     Filetype = 4
	FiletypeSocketDgram     Filetype = 5
	FiletypeSocketStream    Filetype = 6
	FiletypeSymbolicLink    Filetype = 7
)

// The whence of fd_seek (a u8).
const (
	WhenceSet = 0 // from the start
	WhenceCur = 1 // from the current offset
	WhenceEnd = 2 // from the end
)

// Oflags are path_open's open flags (a u16).
const (
	OflagsCreat     = 1 << 0
	OflagsDirectory = 1 << 1
	OflagsExcl      = 1 << 2
	OflagsTrunc     = 1 << 3
)

// Fdflags are a descriptor's flags (a u16).
const (
	FdflagsAppend   = 1 << 0
	FdflagsDsync    = 1 << 1
	FdflagsNonblock = 1 << 2
	FdflagsRsync    = 1 << 3
	FdflagsSync     = 1 << 4
)

// LookupflagsSymlinkFollow is the one lookup flag of the path calls: follow
// a final symlink.
const LookupflagsSymlinkFollow = 1 << 0

// Fstflags say which times fd_filestat_set_times and path_filestat_set_times
// set (a u16).
const (
	FstflagsAtim    = 1 << 0 // atime to the value given
	FstflagsAtimNow = 1 << 1 // atime to now
	FstflagsMtim    = 1 << 2 // mtime to the value given
	FstflagsMtimNow = 1 << 3 // mtime to now
)

// Sizes of the records the calls write into a SIP's memory.
const (
	// FilestatSize is a filestat: dev u64 @0, ino u64 @8, filetype u8 @16,
	// nlink u64 @24, size u64 @32, atim u64 @40, mtim u64 @48, ctim u64 @56.
	FilestatSize = 64
	// DirentSize is the fixed part of a dirent (the name follows): d_next
	// u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20.
	DirentSize = 24
	// FdstatSize is an fdstat: filetype u8 @0, flags u16 @2, rights_base
	// u64 @8, rights_inheriting u64 @16.
	FdstatSize = 24
)

// Riflags are sock_recv's flags (a u16).
const (
	RiflagsRecvPeek    = 1 << 0 // leave the data in the socket
	RiflagsRecvWaitall = 1 << 1 // wait until the buffers are full
)

// Sdflags are sock_shutdown's sides (a u8).
const (
	SdflagsRd = 1 << 0
	SdflagsWr = 1 << 1
)
