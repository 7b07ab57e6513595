// Package wasi is isle's wasi_snapshot_preview1 personality: every function of
// WASI preview 1, as a table of handlers with support levels. wazero's own
// WASI is not used: it would block a core's thread and bypass the kernel.
//
// The rules of the interface:
//
//   - The table is data (Table): name, signature, handler, support level and a
//     note; `isle wasi` prints it and a test keeps it complete.
//   - A handler runs on the calling SIP's coroutine. It decodes its arguments,
//     hands off to a typed helper, and returns a WASI errno; it never panics on
//     a guest's pointer or length (a bad one is EFAULT).
//   - Clocks, random, arguments and environment are answered locally; console
//     and file calls become requests to services, which suspend the SIP, never
//     the core.
package wasi

import (
	"isle/internal/kernel"
	"isle/internal/sandbox"
)

// ModuleName is the import module of WASI preview 1.
const ModuleName = "wasi_snapshot_preview1"

// Support says how much of a call isle implements.
type Support int

// Support levels.
const (
	None    Support = iota // returns ENOSYS
	Partial                // implemented for some arguments; the note says which
	Full                   // implemented as specified
)

func (s Support) String() string {
	switch s {
	case Full:
		return "full"
	case Partial:
		return "partial"
	}
	return "none"
}

type handler func(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno

// Syscall is one row of the table.
type Syscall struct {
	Name    string
	Params  []sandbox.ValType
	NoErrno bool // true only for proc_exit, which returns nothing
	Support Support
	Note    string
	fn      handler
}

const (
	i32 = sandbox.I32
	i64 = sandbox.I64
)

func p(ts ...sandbox.ValType) []sandbox.ValType { return ts }

// Table returns every function of wasi_snapshot_preview1, in the order of the
// specification's witx.
func Table() []Syscall {
	return []Syscall{
		{"args_get", p(i32, i32), false, Full, "", argsGet},
		{"args_sizes_get", p(i32, i32), false, Full, "", argsSizesGet},
		{"environ_get", p(i32, i32), false, Full, "", environGet},
		{"environ_sizes_get", p(i32, i32), false, Full, "", environSizesGet},
		{"clock_res_get", p(i32, i32), false, Full, "realtime, monotonic, process and thread CPU time", clockResGet},
		{"clock_time_get", p(i32, i64, i32), false, Full, "CPU-time clocks count the SIP's time on its cores, to the nanosecond", clockTimeGet},
		{"fd_advise", p(i32, i64, i64, i32), false, Full, "advice checked, then ignored (POSIX allows it)", fdAdvise},
		{"fd_allocate", p(i32, i64, i64), false, Full, "extends the file to offset+len; blocks are not reserved", fdAllocate},
		{"fd_close", p(i32), false, Full, "closing a preopen forgets the fd; the directory stays open for other SIPs", fdClose},
		{"fd_datasync", p(i32), false, Full, "", fdDatasync},
		{"fd_fdstat_get", p(i32, i32), false, Full, "filetype, flags, rights: a preopen's as wasmtime's, an opened fd's as asked for, reduced to what its object supports", fdFdstatGet},
		{"fd_fdstat_set_flags", p(i32, i32), false, Full, "APPEND changes the host file; DSYNC, RSYNC and SYNC are recorded; NONBLOCK makes reads of stdin and sockets say EAGAIN instead of waiting", fdFdstatSetFlags},
		{"fd_fdstat_set_rights", p(i32, i64, i64), false, Full, "rights only shrink (ENOTCAPABLE otherwise); rights the object cannot hold are dropped", fdFdstatSetRights},
		{"fd_filestat_get", p(i32, i32), false, Full, "", fdFilestatGet},
		{"fd_filestat_set_size", p(i32, i64), false, Full, "", fdFilestatSetSize},
		{"fd_filestat_set_times", p(i32, i64, i64, i32), false, Full, "", fdFilestatSetTimes},
		{"fd_pread", p(i32, i32, i32, i64, i32), false, Full, "files; ESPIPE on stdin", fdPread},
		{"fd_prestat_get", p(i32, i32), false, Full, "directories given with --dir, from fd 3; EBADF past the last", fdPrestatGet},
		{"fd_prestat_dir_name", p(i32, i32, i32), false, Full, "", fdPrestatDirName},
		{"fd_pwrite", p(i32, i32, i32, i64, i32), false, Full, "files (appends on an APPEND fd, as Linux); ESPIPE on stdout", fdPwrite},
		{"fd_read", p(i32, i32, i32, i32), false, Full, "stdin through the console service (EAGAIN under NONBLOCK when nothing is buffered); files through the file-system service; sockets through the network service", fdRead},
		{"fd_readdir", p(i32, i32, i32, i64, i32), false, Full, "cookies are entry indexes; \".\" and \"..\" come first; a pass restarts at cookie 0", fdReaddir},
		{"fd_renumber", p(i32, i32), false, Full, "the target must be open (EBADF), as in wasmtime", fdRenumber},
		{"fd_seek", p(i32, i64, i32, i32), false, Full, "files; ESPIPE on stdio, EISDIR on directories", fdSeek},
		{"fd_sync", p(i32), false, Full, "", fdSync},
		{"fd_tell", p(i32, i32), false, Full, "files; ESPIPE on stdio", fdTell},
		{"fd_write", p(i32, i32, i32, i32), false, Full, "stdout and stderr through the console service; files through the file-system service; sockets through the network service", fdWrite},
		{"path_create_directory", p(i32, i32, i32), false, Full, "", pathCreateDirectory},
		{"path_filestat_get", p(i32, i32, i32, i32, i32), false, Full, "", pathFilestatGet},
		{"path_filestat_set_times", p(i32, i32, i32, i32, i64, i64, i32), false, Full, "without SYMLINK_FOLLOW, the times of a final symlink itself", pathFilestatSetTimes},
		{"path_link", p(i32, i32, i32, i32, i32, i32, i32), false, Full, "SYMLINK_FOLLOW links what a final symlink leads to, as the specification says (wasmtime: EINVAL)", pathLink},
		{"path_open", p(i32, i32, i32, i32, i32, i64, i64, i32, i32), false, Full, "every oflag, fdflag and lookup flag; rights asked for are an upper bound (ENOTCAPABLE past the directory's inheriting rights); no path leaves its directory (EPERM)", pathOpen},
		{"path_readlink", p(i32, i32, i32, i32, i32, i32), false, Full, "", pathReadlink},
		{"path_remove_directory", p(i32, i32, i32), false, Full, "", pathRemoveDirectory},
		{"path_rename", p(i32, i32, i32, i32, i32, i32), false, Full, "", pathRename},
		{"path_symlink", p(i32, i32, i32, i32, i32), false, Full, "an absolute target is refused (EPERM): it could only lead out", pathSymlink},
		{"path_unlink_file", p(i32, i32, i32), false, Full, "", pathUnlinkFile},
		{"poll_oneoff", p(i32, i32, i32, i32), false, Full, "realtime and monotonic clocks, relative or absolute, sleep the SIP (its core runs others); at most 8,192 subscriptions; files are always ready, stdout and stderr always writable; stdin is ready when the console service holds input or its end (the SIP waits off its core until then or the deadline); sockets are polled by the network service, 50 ms at a time (FD_READWRITE_HANGUP when closed both ways)", pollOneoff},
		{"proc_exit", p(i32), true, Full, "", procExit},
		{"proc_raise", p(i32), false, None, "", nil},
		{"sched_yield", p(), false, Full, "the SIP goes back on its core's run queue", schedYield},
		{"random_get", p(i32, i32), false, Full, "from the host's crypto/rand, 64 KiB at a time, yielding the core between slices", randomGet},
		{"sock_accept", p(i32, i32, i32), false, Full, "on listeners given with --listen (fds after the preopens, non-blocking at start), through the network service; FDFLAGS_NONBLOCK for the new connection", sockAccept},
		{"sock_recv", p(i32, i32, i32, i32, i32, i32), false, Full, "RECV_PEEK; RECV_WAITALL on a blocking socket waits for every byte asked for (or the end, or an error after some)", sockRecv},
		{"sock_send", p(i32, i32, i32, i32, i32), false, Full, "", sockSend},
		{"sock_shutdown", p(i32, i32), false, Full, "", sockShutdown},
	}
}

// HostModule returns the table as a sandbox host module.
func HostModule() sandbox.HostModule {
	t := Table()
	hm := sandbox.HostModule{Name: ModuleName, Funcs: make([]sandbox.HostFunc, len(t))}
	for i, sc := range t {
		fn := sc.fn
		var results []sandbox.ValType
		if !sc.NoErrno {
			results = p(i32)
		}
		hm.Funcs[i] = sandbox.HostFunc{
			Name:    sc.Name,
			Params:  sc.Params,
			Results: results,
			Fn: func(c *sandbox.Call, a []uint64) {
				if fn == nil {
					a[0] = uint64(ENOSYS)
					return
				}
				s := kernel.SIPOf(c)
				a[0] = uint64(fn(c, s, procOf(s), a))
			},
		}
	}
	return hm
}

// Implemented reports whether the call has a handler (else it returns ENOSYS).
func (s Syscall) Implemented() bool { return s.fn != nil }
