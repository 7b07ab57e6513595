package ipc

// Error is a channel operation's failure. The values are also the codes the
// guest ABI returns (internal/abi, guest/c/isle.h), so they never change.
type Error uint32

// Errors. 0 is success in the guest ABI.
const (
	ErrBadHandle  Error = 1  // not a live handle of this table: forged, stale, or already sent
	ErrWrongType  Error = 2  // a handle of the wrong kind, contract or side
	ErrNotAllowed Error = 3  // the contract does not allow this message from this side now
	ErrBadFields  Error = 4  // the payload does not match the message's fields
	ErrClosed     Error = 5  // the peer endpoint is closed
	ErrQuota      Error = 6  // a handle or exchange-heap quota would be exceeded
	ErrTooBig     Error = 7  // a buffer is too small for the message, or a size is past a limit
	ErrAgain      Error = 8  // nothing to receive (non-blocking receive)
	ErrNoName     Error = 9  // no service registered under that name
	ErrExists     Error = 10 // a service is already registered under that name
	ErrMismatch   Error = 11 // the contracts of the two sides differ
	ErrFault      Error = 12 // a pointer or length outside the guest's memory
	ErrInvalid    Error = 13 // a malformed argument (a contract that does not compile, a bad flag)
	ErrNoSys      Error = 14 // the SIP has no channel layer
)

func (e Error) Error() string {
	switch e {
	case ErrBadHandle:
		return "ipc: bad handle"
	case ErrWrongType:
		return "ipc: handle of the wrong type"
	case ErrNotAllowed:
		return "ipc: message not allowed in this state"
	case ErrBadFields:
		return "ipc: payload does not match the message's fields"
	case ErrClosed:
		return "ipc: channel closed"
	case ErrQuota:
		return "ipc: quota exceeded"
	case ErrTooBig:
		return "ipc: too big"
	case ErrAgain:
		return "ipc: nothing to receive"
	case ErrNoName:
		return "ipc: no such name"
	case ErrExists:
		return "ipc: name already registered"
	case ErrMismatch:
		return "ipc: contracts differ"
	case ErrFault:
		return "ipc: bad pointer or length"
	case ErrInvalid:
		return "ipc: invalid argument"
	case ErrNoSys:
		return "ipc: no channel layer"
	}
	return "ipc: unknown error"
}

// Code returns the guest ABI's code for err: 0 for nil, the Error's value, or
// ErrInvalid for any other error.
func Code(err error) uint32 {
	if err == nil {
		return 0
	}
	if e, ok := err.(Error); ok {
		return uint32(e)
	}
	return uint32(ErrInvalid)
}
