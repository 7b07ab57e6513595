package isle

import (
	"isle/internal/abi"
	"isle/internal/kernel"
	"isle/internal/procapi"
	"isle/internal/wasi"
)

// sipExt is a SIP's record in isle's personalities (kernel.SIP.Ext): its
// WASI state, its channels and its children, one typed field each. newSIP
// makes it before Spawn; each field is then owned by its layer, as that
// layer's type says (touched on the SIP's coroutine or the core that owns
// it), and read once more by the exit hooks on the core the SIP ends on.
type sipExt struct {
	wasi  *wasi.Proc
	ipc   *abi.Proc
	procs procapi.State // the zero State until procapi fills it in (Attach, or its spawn)
}

var (
	_ kernel.Ext    = (*sipExt)(nil)
	_ wasi.Owner    = (*sipExt)(nil)
	_ abi.Owner     = (*sipExt)(nil)
	_ procapi.Owner = (*sipExt)(nil)
)

func (e *sipExt) WASI() *wasi.Proc          { return e.wasi }
func (e *sipExt) Channels() *abi.Proc       { return e.ipc }
func (e *sipExt) Procs() *procapi.State     { return &e.procs }
func (e *sipExt) Holding() bool             { return e.wasi.Holding() }
func (e *sipExt) ReleaseHeld(s *kernel.SIP) { e.wasi.ReleaseHeld(s) }

// extOf returns the record of a SIP isle made (newSIP).
func extOf(s *kernel.SIP) *sipExt { return s.Ext.(*sipExt) }
