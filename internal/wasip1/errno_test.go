package wasip1

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// witxErrnos is typenames.witx's errno enum (wasi_snapshot_preview1), in
// its order: a case's value is its position.
var witxErrnos = []struct {
	e    Errno
	name string
}{
	{ErrnoSuccess, "success"}, {Errno2big, "2big"}, {ErrnoAcces, "acces"},
	{ErrnoAddrinuse, "addrinuse"}, {ErrnoAddrnotavail, "addrnotavail"},
	{ErrnoAfnosupport, "afnosupport"}, {ErrnoAgain, "again"}, {ErrnoAlready, "already"},
	{ErrnoBadf, "badf"}, {ErrnoBadmsg, "badmsg"}, {ErrnoBusy, "busy"}, {ErrnoCanceled, "canceled"},
	{ErrnoChild, "child"}, {ErrnoConnaborted, "connaborted"}, {ErrnoConnrefused, "connrefused"},
	{ErrnoConnreset, "connreset"}, {ErrnoDeadlk, "deadlk"}, {ErrnoDestaddrreq, "destaddrreq"},
	{ErrnoDom, "dom"}, {ErrnoDquot, "dquot"}, {ErrnoExist, "exist"}, {ErrnoFault, "fault"},
	{ErrnoFbig, "fbig"}, {ErrnoHostunreach, "hostunreach"}, {ErrnoIdrm, "idrm"},
	{ErrnoIlseq, "ilseq"}, {ErrnoInprogress, "inprogress"}, {ErrnoIntr, "intr"},
	{ErrnoInval, "inval"}, {ErrnoIo, "io"}, {ErrnoIsconn, "isconn"}, {ErrnoIsdir, "isdir"},
	{ErrnoLoop, "loop"}, {ErrnoMfile, "mfile"}, {ErrnoMlink, "mlink"}, {ErrnoMsgsize, "msgsize"},
	{ErrnoMultihop, "multihop"}, {ErrnoNametoolong, "nametoolong"}, {ErrnoNetdown, "netdown"},
	{ErrnoNetreset, "netreset"}, {ErrnoNetunreach, "netunreach"}, {ErrnoNfile, "nfile"},
	{ErrnoNobufs, "nobufs"}, {ErrnoNodev, "nodev"}, {ErrnoNoent, "noent"}, {ErrnoNoexec, "noexec"},
	{ErrnoNolck, "nolck"}, {ErrnoNolink, "nolink"}, {ErrnoNomem, "nomem"}, {ErrnoNomsg, "nomsg"},
	{ErrnoNoprotoopt, "noprotoopt"}, {ErrnoNospc, "nospc"}, {ErrnoNosys, "nosys"},
	{ErrnoNotconn, "notconn"}, {ErrnoNotdir, "notdir"}, {ErrnoNotempty, "notempty"},
	{ErrnoNotrecoverable, "notrecoverable"}, {ErrnoNotsock, "notsock"}, {ErrnoNotsup, "notsup"},
	{ErrnoNotty, "notty"}, {ErrnoNxio, "nxio"}, {ErrnoOverflow, "overflow"},
	{ErrnoOwnerdead, "ownerdead"}, {ErrnoPerm, "perm"}, {ErrnoPipe, "pipe"}, {ErrnoProto, "proto"},
	{ErrnoProtonosupport, "protonosupport"}, {ErrnoPrototype, "prototype"}, {ErrnoRange, "range"},
	{ErrnoRofs, "rofs"}, {ErrnoSpipe, "spipe"}, {ErrnoSrch, "srch"}, {ErrnoStale, "stale"},
	{ErrnoTimedout, "timedout"}, {ErrnoTxtbsy, "txtbsy"}, {ErrnoXdev, "xdev"},
	{ErrnoNotcapable, "notcapable"},
}

// TestErrnosMatchSpec checks every errno against the specification's
// table: its value is its place in the witx enum, and it prints under the
// witx name.
func TestErrnosMatchSpec(t *testing.T) {
	if len(witxErrnos) != 77 {
		t.Fatalf("the table has %d errnos, witx has 77", len(witxErrnos))
	}
	for i, w := range witxErrnos {
		if int(w.e) != i {
			t.Errorf("%s = %d, witx numbers it %d", w.name, w.e, i)
		}
		if got, want := w.e.String(), "E"+strings.ToUpper(w.name); got != want {
			t.Errorf("errno %d prints %q, want %q", i, got, want)
		}
	}
	if got := Errno(77).String(); got != "errno(77)" {
		t.Errorf("Errno(77) prints %q", got)
	}
}

// apiH is wasi-libc's header, generated from the witx files.
const apiH = "/usr/include/wasm32-wasi/wasi/api.h"

// TestMatchesWasiLibc checks every constant of the package against
// wasi-libc's <wasi/api.h>, which is generated from the same witx files.
func TestMatchesWasiLibc(t *testing.T) {
	src, err := os.ReadFile(apiH)
	if err != nil {
		t.Skipf("no wasi-libc header: %v", err)
	}
	defs := map[string]int{}
	re := regexp.MustCompile(`#define __WASI_([A-Z0-9_]+) \((?:UINT\d+_C\((\d+)\)|\(__wasi_\w+\)\(1 << (\d+)\))\)`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		if m[2] != "" {
			defs[m[1]], _ = strconv.Atoi(m[2])
		} else {
			sh, _ := strconv.Atoi(m[3])
			defs[m[1]] = 1 << sh
		}
	}
	sizes := map[string]int{}
	for _, m := range regexp.MustCompile(`sizeof\(__wasi_(\w+)_t\) == (\d+)`).FindAllStringSubmatch(string(src), -1) {
		sizes[m[1]], _ = strconv.Atoi(m[2])
	}
	want := map[string]int{
		"FILETYPE_UNKNOWN": int(FiletypeUnknown), "FILETYPE_BLOCK_DEVICE": int(FiletypeBlockDevice),
		"FILETYPE_CHARACTER_DEVICE": int(FiletypeCharacterDevice), "FILETYPE_DIRECTORY": int(FiletypeDirectory),
		"FILETYPE_REGULAR_FILE": int(FiletypeRegularFile), "FILETYPE_SOCKET_DGRAM": int(FiletypeSocketDgram),
		"FILETYPE_SOCKET_STREAM": int(FiletypeSocketStream), "FILETYPE_SYMBOLIC_LINK": int(FiletypeSymbolicLink),
		"WHENCE_SET": WhenceSet, "WHENCE_CUR": WhenceCur, "WHENCE_END": WhenceEnd,
		"OFLAGS_CREAT": OflagsCreat, "OFLAGS_DIRECTORY": OflagsDirectory, "OFLAGS_EXCL": OflagsExcl,
		"OFLAGS_TRUNC": OflagsTrunc, "FDFLAGS_APPEND": FdflagsAppend, "FDFLAGS_DSYNC": FdflagsDsync,
		"FDFLAGS_NONBLOCK": FdflagsNonblock, "FDFLAGS_RSYNC": FdflagsRsync, "FDFLAGS_SYNC": FdflagsSync,
		"LOOKUPFLAGS_SYMLINK_FOLLOW": LookupflagsSymlinkFollow, "FSTFLAGS_ATIM": FstflagsAtim,
		"FSTFLAGS_ATIM_NOW": FstflagsAtimNow, "FSTFLAGS_MTIM": FstflagsMtim, "FSTFLAGS_MTIM_NOW": FstflagsMtimNow,
		"RIFLAGS_RECV_PEEK": RiflagsRecvPeek, "RIFLAGS_RECV_WAITALL": RiflagsRecvWaitall,
		"SDFLAGS_RD": SdflagsRd, "SDFLAGS_WR": SdflagsWr,
	}
	for _, w := range witxErrnos {
		want["ERRNO_"+strings.ToUpper(w.name)] = int(w.e)
	}
	for name, v := range want {
		got, ok := defs[name]
		switch {
		case !ok:
			t.Errorf("%s has no __WASI_%s", apiH, name)
		case got != v:
			t.Errorf("__WASI_%s is %d, wasip1's is %d", name, got, v)
		}
	}
	for name := range defs {
		if strings.HasPrefix(name, "ERRNO_") {
			if _, ok := want[name]; !ok {
				t.Errorf("__WASI_%s is not in wasip1", name)
			}
		}
	}
	for name, v := range map[string]int{"filestat": FilestatSize, "dirent": DirentSize, "fdstat": FdstatSize} {
		if sizes[name] != v {
			t.Errorf("sizeof(__wasi_%s_t) is %d, wasip1's is %d", name, sizes[name], v)
		}
	}
}

// TestFromHost checks the host-to-WASI mapping: same-named errnos map to
// each other, the host's EMFILE is the machine's ENFILE, and an errno WASI
// has no name for is not ok.
func TestFromHost(t *testing.T) {
	for _, c := range []struct {
		host syscall.Errno
		want Errno
	}{
		{syscall.ENOENT, ErrnoNoent}, {syscall.EACCES, ErrnoAcces}, {syscall.EBADF, ErrnoBadf},
		{syscall.EXDEV, ErrnoXdev}, {syscall.ENOTEMPTY, ErrnoNotempty}, {syscall.EMFILE, ErrnoNfile},
		{syscall.ENFILE, ErrnoNfile}, {syscall.EPIPE, ErrnoPipe}, {syscall.ECONNRESET, ErrnoConnreset},
	} {
		if got, ok := FromHost(c.host); !ok || got != c.want {
			t.Errorf("FromHost(%v) = %v, %v; want %v", c.host, got, ok, c.want)
		}
	}
	for en := syscall.Errno(1); en < 134; en++ {
		got, ok := FromHost(en)
		if !ok || en == syscall.EMFILE {
			continue
		}
		if name := unix.ErrnoName(en); name != got.String() {
			t.Errorf("FromHost(%s) = %v: a mapping keeps the name", name, got)
		}
	}
	wrapped := &os.PathError{Op: "open", Path: "x", Err: syscall.EMFILE}
	if e, ok := FromError(wrapped); !ok || e != ErrnoNfile {
		t.Errorf("FromError(%v) = %v, %v", wrapped, e, ok)
	}
	if _, ok := FromError(os.ErrNotExist); ok {
		t.Error("FromError(os.ErrNotExist) is ok: it wraps no host errno")
	}
	if _, ok := FromHost(syscall.ENOKEY); ok {
		t.Error("FromHost(ENOKEY) is ok")
	}
}
