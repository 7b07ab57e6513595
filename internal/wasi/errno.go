package wasi

import "isle/internal/wasip1"

// Errno is a WASI error number (wasi_snapshot_preview1 `errno`); its values
// are declared once, in internal/wasip1.
type Errno = wasip1.Errno

// The handlers' short names for WASI's errnos, as C spells them (EBADF for
// wasip1.ErrnoBadf): names only, the values are wasip1's.
const (
	ESUCCESS        = wasip1.ErrnoSuccess
	E2BIG           = wasip1.Errno2big
	EACCES          = wasip1.ErrnoAcces
	EADDRINUSE      = wasip1.ErrnoAddrinuse
	EADDRNOTAVAIL   = wasip1.ErrnoAddrnotavail
	EAFNOSUPPORT    = wasip1.ErrnoAfnosupport
	EAGAIN          = wasip1.ErrnoAgain
	EALREADY        = wasip1.ErrnoAlready
	EBADF           = wasip1.ErrnoBadf
	EBADMSG         = wasip1.ErrnoBadmsg
	EBUSY           = wasip1.ErrnoBusy
	ECANCELED       = wasip1.ErrnoCanceled
	ECHILD          = wasip1.ErrnoChild
	ECONNABORTED    = wasip1.ErrnoConnaborted
	ECONNREFUSED    = wasip1.ErrnoConnrefused
	ECONNRESET      = wasip1.ErrnoConnreset
	EDEADLK         = wasip1.ErrnoDeadlk
	EDESTADDRREQ    = wasip1.ErrnoDestaddrreq
	EDOM            = wasip1.ErrnoDom
	EDQUOT          = wasip1.ErrnoDquot
	EEXIST          = wasip1.ErrnoExist
	EFAULT          = wasip1.ErrnoFault
	EFBIG           = wasip1.ErrnoFbig
	EHOSTUNREACH    = wasip1.ErrnoHostunreach
	EIDRM           = wasip1.ErrnoIdrm
	EILSEQ          = wasip1.ErrnoIlseq
	EINPROGRESS     = wasip1.ErrnoInprogress
	EINTR           = wasip1.ErrnoIntr
	EINVAL          = wasip1.ErrnoInval
	EIO             = wasip1.ErrnoIo
	EISCONN         = wasip1.ErrnoIsconn
	EISDIR          = wasip1.ErrnoIsdir
	ELOOP           = wasip1.ErrnoLoop
	EMFILE          = wasip1.ErrnoMfile
	EMLINK          = wasip1.ErrnoMlink
	EMSGSIZE        = wasip1.ErrnoMsgsize
	EMULTIHOP       = wasip1.ErrnoMultihop
	ENAMETOOLONG    = wasip1.ErrnoNametoolong
	ENETDOWN        = wasip1.ErrnoNetdown
	ENETRESET       = wasip1.ErrnoNetreset
	ENETUNREACH     = wasip1.ErrnoNetunreach
	ENFILE          = wasip1.ErrnoNfile
	ENOBUFS         = wasip1.ErrnoNobufs
	ENODEV          = wasip1.ErrnoNodev
	ENOENT          = wasip1.ErrnoNoent
	ENOEXEC         = wasip1.ErrnoNoexec
	ENOLCK          = wasip1.ErrnoNolck
	ENOLINK         = wasip1.ErrnoNolink
	ENOMEM          = wasip1.ErrnoNomem
	ENOMSG          = wasip1.ErrnoNomsg
	ENOPROTOOPT     = wasip1.ErrnoNoprotoopt
	ENOSPC          = wasip1.ErrnoNospc
	ENOSYS          = wasip1.ErrnoNosys
	ENOTCONN        = wasip1.ErrnoNotconn
	ENOTDIR         = wasip1.ErrnoNotdir
	ENOTEMPTY       = wasip1.ErrnoNotempty
	ENOTRECOVERABLE = wasip1.ErrnoNotrecoverable
	ENOTSOCK        = wasip1.ErrnoNotsock
	ENOTSUP         = wasip1.ErrnoNotsup
	ENOTTY          = wasip1.ErrnoNotty
	ENXIO           = wasip1.ErrnoNxio
	EOVERFLOW       = wasip1.ErrnoOverflow
	EOWNERDEAD      = wasip1.ErrnoOwnerdead
	EPERM           = wasip1.ErrnoPerm
	EPIPE           = wasip1.ErrnoPipe
	EPROTO          = wasip1.ErrnoProto
	EPROTONOSUPPORT = wasip1.ErrnoProtonosupport
	EPROTOTYPE      = wasip1.ErrnoPrototype
	ERANGE          = wasip1.ErrnoRange
	EROFS           = wasip1.ErrnoRofs
	ESPIPE          = wasip1.ErrnoSpipe
	ESRCH           = wasip1.ErrnoSrch
	ESTALE          = wasip1.ErrnoStale
	ETIMEDOUT       = wasip1.ErrnoTimedout
	ETXTBSY         = wasip1.ErrnoTxtbsy
	EXDEV           = wasip1.ErrnoXdev
	ENOTCAPABLE     = wasip1.ErrnoNotcapable
)
