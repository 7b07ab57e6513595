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

var errorText = [...]string{
	ErrBadHandle:  "bad handle",
	ErrWrongType:  "handle of the wrong type",
	ErrNotAllowed: "message not allowed in this state",
	ErrBadFields:  "payload does not match the message's fields",
	ErrClosed:     "channel closed",
	ErrQuota:      "quota exceeded",
	ErrTooBig:     "too big",
	ErrAgain:      "nothing to receive",
	ErrNoName:     "no such name",
	ErrExists:     "name already registered",
	ErrMismatch:   "contracts differ",
	ErrFault:      "bad pointer or length",
	ErrInvalid:    "invalid argument",
	ErrNoSys:      "no channel layer",
}

func (e Error) Error() string {
	if int(e) < len(errorText) && errorText[e] != "" {
		return "ipc: " + errorText[e]
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
