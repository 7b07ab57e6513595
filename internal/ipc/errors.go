package ipc

// Error is a channel operation's failure. The values are also the codes the
// guest ABI returns; they are declared once, in internal/abi/spec, and the
// constants (errors_gen.go), guest/c/isle.h and guest/go are generated from
// that table, so they never change by hand.
type Error uint32

func (e Error) Error() string {
	if t := e.text(); t != "" {
		return "ipc: " + t
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
