package abi

import (
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
	"isle/internal/names"
	"isle/internal/sandbox"
)

// Func is one row of the ABI table: a host function of module "isle".
type Func struct {
	Name   string
	Params []sandbox.ValType // all i32; the result is one i32 error code
	Doc    string
	fn     func(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error
}

const i32 = sandbox.I32

func n(k int) []sandbox.ValType {
	v := make([]sandbox.ValType, k)
	for i := range v {
		v[i] = i32
	}
	return v
}

// Table returns every function of module "isle".
func Table() []Func {
	return []Func{
		{"channel_create", n(6), "(src, src_len, name, name_len, *imp, *exp): a channel of contract name in src; both ends to the caller", channelCreate},
		{"send", n(6), "(ep, msg, payload, len, blocks, nblocks): send msg; the endpoints in its fields and the blocks move to the receiver", send},
		{"recv", n(5), "(ep, buf, cap, *info, flags): receive the next message on ep; blocks unless flags has NONBLOCK", recv},
		{"recv_any", n(6), "(eps, n, buf, cap, *info, flags): receive on the first of n endpoints with a message; info.index says which", recvAny},
		{"close", n(1), "(h): close an endpoint (the peer sees Closed) or free a block", closeHandle},
		{"block_alloc", n(2), "(size, *h): a zeroed exchange-heap block", blockAlloc},
		{"block_size", n(2), "(h, *size)", blockSize},
		{"block_read", n(4), "(h, off, buf, len): copy out of a block", blockRead},
		{"block_write", n(4), "(h, off, buf, len): copy into a block", blockWrite},
		{"block_free", n(1), "(h): free a block (an endpoint is ErrWrongType)", blockFree},
		{"register", n(7), "(name, name_len, src, src_len, cname, cname_len, *listener): serve contract cname under name; connections arrive on the listener as Connect(exp<C>)", register},
		{"lookup", n(7), "(name, name_len, src, src_len, cname, cname_len, *ep): connect to the service called name, which must speak the same contract", lookup},
		{"move", n(1), "(core): yield, and go on running on that core (for benchmarks and tests that need a SIP placed after a migration; the balancer may move it again); ErrInvalid past the machine's cores", move},
	}
}

// HostModule returns module "isle" for the sandbox runtime.
func HostModule() sandbox.HostModule {
	t := Table()
	hm := sandbox.HostModule{Name: ModuleName, Funcs: make([]sandbox.HostFunc, len(t))}
	for i, f := range t {
		fn := f.fn
		hm.Funcs[i] = sandbox.HostFunc{
			Name:    f.Name,
			Params:  f.Params,
			Results: n(1),
			Fn: func(c *sandbox.Call, a []uint64) {
				s := kernel.SIPOf(c)
				p, ok := s.IPC.(*Proc)
				if !ok {
					a[0] = uint64(ipc.ErrNoSys)
					return
				}
				a[0] = uint64(ipc.Code(fn(c, s, p, a)))
			},
		}
	}
	return hm
}

func u32(a uint64) uint32 { return uint32(a) }

// read returns a view of guest memory, or ErrFault.
func read(c *sandbox.Call, ptr, n uint32) ([]byte, error) {
	b, ok := c.Memory().Read(ptr, n)
	if !ok {
		return nil, ipc.ErrFault
	}
	return b, nil
}

func channelCreate(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	src, err := read(c, u32(a[0]), u32(a[1]))
	if err != nil {
		return err
	}
	name, err := read(c, u32(a[2]), u32(a[3]))
	if err != nil {
		return err
	}
	if _, err := read(c, u32(a[4]), 4); err != nil {
		return err
	}
	if _, err := read(c, u32(a[5]), 4); err != nil {
		return err
	}
	core := s.Core()
	ct, err := p.sys.compile(core.ID(), src, name)
	if err != nil {
		return err
	}
	imp, exp, err := p.tab.NewChannel(port{core}, ct)
	if err != nil {
		return err
	}
	m := c.Memory()
	m.WriteUint32(u32(a[4]), uint32(imp))
	m.WriteUint32(u32(a[5]), uint32(exp))
	return nil
}

func send(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	payload, err := read(c, u32(a[2]), u32(a[3]))
	if err != nil {
		return err
	}
	nb := u32(a[5])
	if nb > MaxBlocks {
		return ipc.ErrTooBig
	}
	raw, err := read(c, u32(a[4]), 4*nb)
	if err != nil {
		return err
	}
	var blocks [MaxBlocks]ipc.Handle
	for i := range nb {
		blocks[i] = ipc.Handle(leU32(raw[4*i:]))
	}
	msg := u32(a[1])
	if msg > 0xFFFF {
		return ipc.ErrNotAllowed
	}
	h := ipc.Handle(u32(a[0]))
	var con *contract.Contract
	var flow uint64
	if s.Traced() {
		con, flow, _ = p.tab.Describe(h)
	}
	err = p.tab.Send(port{s.Core()}, h, contract.MsgID(msg), payload, blocks[:nb])
	if err == nil {
		s.CountMessage()
		if con != nil {
			s.TraceChannel(true, con, contract.MsgID(msg), flow)
		}
	}
	return err
}

// traceRecv records a received message, for a trace.
func traceRecv(s *kernel.SIP, ri ipc.RecvInfo) {
	if s.Traced() && ri.Contract != nil && ri.Msg != ipc.MsgClosed {
		s.TraceChannel(false, ri.Contract, ri.Msg, ri.Flow)
	}
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func recv(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	h := ipc.Handle(u32(a[0]))
	flags := u32(a[4])
	if flags&^RecvNonblock != 0 {
		return ipc.ErrInvalid
	}
	buf, info, err := recvBuffers(c, a[1], a[2], a[3])
	if err != nil {
		return err
	}
	for {
		var blocks [MaxBlocks]ipc.Handle
		ri, err := p.tab.Recv(port{s.Core()}, h, buf, blocks[:])
		if err == ipc.ErrAgain && flags&RecvNonblock == 0 {
			p.tab.Watch(h)
			s.Block()
			p.tab.Unwatch(h)
			continue
		}
		if err == nil {
			s.CountMessage()
			traceRecv(s, ri)
		}
		writeInfo(info, ri, 0, blocks[:])
		return err
	}
}

func recvAny(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	cnt, flags := u32(a[1]), u32(a[5])
	if cnt == 0 || cnt > maxWaitSet || flags&^RecvNonblock != 0 {
		return ipc.ErrInvalid
	}
	raw, err := read(c, u32(a[0]), 4*cnt)
	if err != nil {
		return err
	}
	buf, info, err := recvBuffers(c, a[2], a[3], a[4])
	if err != nil {
		return err
	}
	for {
		p.hs = p.hs[:0]
		for i := range cnt {
			p.hs = append(p.hs, ipc.Handle(leU32(raw[4*i:])))
		}
		var blocks [MaxBlocks]ipc.Handle
		i, ri, err := p.tab.RecvAny(port{s.Core()}, p.hs, p.start%len(p.hs), buf, blocks[:])
		if err == ipc.ErrAgain && flags&RecvNonblock == 0 {
			p.tab.Watch(p.hs...)
			s.Block()
			p.tab.Unwatch(p.hs...)
			continue
		}
		if i >= 0 {
			p.start = i + 1
		}
		if err == nil {
			s.CountMessage()
			traceRecv(s, ri)
		}
		writeInfo(info, ri, uint32(max(i, 0)), blocks[:])
		return err
	}
}

// recvBuffers returns the guest's receive buffer and its info record. They
// are read once per call: the guest's memory cannot change size while it
// waits in the call.
func recvBuffers(c *sandbox.Call, bufPtr, capacity, infoPtr uint64) (buf, info []byte, err error) {
	if buf, err = read(c, u32(bufPtr), u32(capacity)); err != nil {
		return nil, nil, err
	}
	if info, err = read(c, u32(infoPtr), InfoSize); err != nil {
		return nil, nil, err
	}
	return buf, info, nil
}

func writeInfo(info []byte, ri ipc.RecvInfo, index uint32, blocks []ipc.Handle) {
	le32(info, InfoMsg, uint32(ri.Msg))
	le32(info, InfoLen, uint32(ri.Len))
	le32(info, InfoIndex, index)
	var flags uint32
	if ri.Breach {
		flags |= FlagBreach
	}
	le32(info, InfoFlags, flags)
	le32(info, InfoNBlocks, uint32(ri.Blocks))
	for i := 0; i < MaxBlocks; i++ {
		v := uint32(0)
		if i < ri.Blocks && i < len(blocks) {
			v = uint32(blocks[i])
		}
		le32(info, InfoBlocks+4*i, v)
	}
}

// move is kernel.SIP.MoveTo for the guest.
func move(_ *sandbox.Call, s *kernel.SIP, _ *Proc, a []uint64) error {
	if !s.MoveTo(int(u32(a[0]))) {
		return ipc.ErrInvalid
	}
	return nil
}

func closeHandle(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	h := ipc.Handle(u32(a[0]))
	if err := p.tab.Close(port{s.Core()}, h); err != nil {
		return err
	}
	if l, ok := p.listeners[h]; ok {
		p.sys.names.Unregister(s.Core(), l.name, l.ep)
		delete(p.listeners, h)
	}
	return nil
}

func blockFree(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	h := ipc.Handle(u32(a[0]))
	if _, err := p.tab.Block(h); err != nil {
		return err
	}
	return p.tab.Close(port{s.Core()}, h)
}

func blockAlloc(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	if _, err := read(c, u32(a[1]), 4); err != nil {
		return err
	}
	h, err := p.tab.Alloc(int64(u32(a[0])))
	if err != nil {
		return err
	}
	c.Memory().WriteUint32(u32(a[1]), uint32(h))
	return nil
}

func blockSize(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	b, err := p.tab.Block(ipc.Handle(u32(a[0])))
	if err != nil {
		return err
	}
	if !c.Memory().WriteUint32(u32(a[1]), uint32(b.Len())) {
		return ipc.ErrFault
	}
	return nil
}

// blockRange returns the bytes [off, off+n) of block h.
func blockRange(p *Proc, h, off, n uint32) ([]byte, error) {
	b, err := p.tab.Block(ipc.Handle(h))
	if err != nil {
		return nil, err
	}
	if uint64(off)+uint64(n) > uint64(b.Len()) {
		return nil, ipc.ErrTooBig
	}
	return b.Bytes()[off : off+n], nil
}

func blockRead(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	src, err := blockRange(p, u32(a[0]), u32(a[1]), u32(a[3]))
	if err != nil {
		return err
	}
	if !c.Memory().Write(u32(a[2]), src) {
		return ipc.ErrFault
	}
	return nil
}

func blockWrite(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	dst, err := blockRange(p, u32(a[0]), u32(a[1]), u32(a[3]))
	if err != nil {
		return err
	}
	src, err := read(c, u32(a[2]), u32(a[3]))
	if err != nil {
		return err
	}
	copy(dst, src)
	return nil
}

// nameArgs reads (name, src, cname) and compiles the contract.
func nameArgs(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) (string, *contract.Contract, error) {
	name, err := read(c, u32(a[0]), u32(a[1]))
	if err != nil {
		return "", nil, err
	}
	src, err := read(c, u32(a[2]), u32(a[3]))
	if err != nil {
		return "", nil, err
	}
	cname, err := read(c, u32(a[4]), u32(a[5]))
	if err != nil {
		return "", nil, err
	}
	if _, err := read(c, u32(a[6]), 4); err != nil {
		return "", nil, err
	}
	ct, err := p.sys.compile(s.Core().ID(), src, cname)
	if err != nil {
		return "", nil, err
	}
	return string(name), ct, nil
}

func register(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	name, ct, err := nameArgs(c, s, p, a)
	if err != nil {
		return err
	}
	if _, err := p.sys.names.Lookup(s.Core(), name, nil); err == nil {
		return ipc.ErrExists
	}
	lc, err := ipc.ListenerContract(ct)
	if err != nil {
		return err
	}
	core := s.Core()
	h, l, err := p.tab.Listen(port{core}, lc)
	if err != nil {
		return err
	}
	if err := p.sys.names.Register(s, name, names.Entry{Contract: ct, Listener: l, Home: p.tab, Core: core.ID(), Owner: s.PID()}); err != nil {
		p.tab.Close(port{core}, h)
		return err
	}
	p.listeners[h] = listener{name: name, ep: l}
	c.Memory().WriteUint32(u32(a[6]), uint32(h))
	return nil
}

func lookup(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	name, ct, err := nameArgs(c, s, p, a)
	if err != nil {
		return err
	}
	e, err := p.sys.names.Lookup(s.Core(), name, ct)
	if err != nil {
		return err
	}
	h, err := p.tab.Connect(port{s.Core()}, e.Listener, e.Home, e.Core)
	if err != nil {
		return err
	}
	c.Memory().WriteUint32(u32(a[6]), uint32(h))
	return nil
}
