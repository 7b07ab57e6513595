package abi

import (
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
	"isle/internal/names"
)

// The channel calls for a SIP whose code is Go rather than WebAssembly (the
// cluster's gateway): the same operations as register and lookup, made on
// the SIP's own coroutine, and the Port its table's calls need.

// Port is the ipc.Port of core c, for calls on the SIP's table made while c
// runs the SIP.
func (p *Proc) Port(c *kernel.Core) ipc.Port { return port{c} }

// Register serves contract ct under name, as the register call does: it
// returns the listener, on which connections arrive as Connect(exp<ct>).
func (p *Proc) Register(s *kernel.SIP, name string, ct *contract.Contract) (ipc.Handle, error) {
	if _, err := p.sys.names.Lookup(s.Core(), name, nil); err == nil {
		return 0, ipc.ErrExists
	}
	lc, err := ipc.ListenerContract(ct)
	if err != nil {
		return 0, err
	}
	core := s.Core()
	h, l, err := p.tab.Listen(port{core}, lc)
	if err != nil {
		return 0, err
	}
	if err := p.sys.names.Register(s, name, names.Entry{Contract: ct, Listener: l, Home: p.tab, Core: core.ID(), Owner: s.PID()}); err != nil {
		p.tab.Close(port{core}, h)
		return 0, err
	}
	p.listeners[h] = listener{name: name, ep: l}
	return h, nil
}

// Lookup connects to the service called name, which must speak ct, as the
// lookup call does: it returns the importer's end.
func (p *Proc) Lookup(s *kernel.SIP, name string, ct *contract.Contract) (ipc.Handle, error) {
	e, err := p.sys.names.Lookup(s.Core(), name, ct)
	if err != nil {
		return 0, err
	}
	return p.tab.Connect(port{s.Core()}, e.Listener, e.Home, e.Core)
}

// Unregister closes listener h, which Register made, and drops its name, as
// closing it with the close call does.
func (p *Proc) Unregister(s *kernel.SIP, h ipc.Handle) error {
	if err := p.tab.Close(port{s.Core()}, h); err != nil {
		return err
	}
	if l, ok := p.listeners[h]; ok {
		p.sys.names.Unregister(s.Core(), l.name, l.ep)
		delete(p.listeners, h)
	}
	return nil
}
