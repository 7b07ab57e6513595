package abi

import (
	"encoding/binary"

	"isle/internal/abi/spec"
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
	"isle/internal/sandbox"
)

// Func is one function of module "isle"'s channel part, bound to its
// handler. The name, signature and doc come from internal/abi/spec, the one
// declaration of the ABI.
type Func struct {
	Name   string
	Params []sandbox.ValType // all i32; the result is one i32 error code
	Doc    string
	fn     hostFn
}

type hostFn func(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error

const i32 = sandbox.I32

func n(k int) []sandbox.ValType {
	v := make([]sandbox.ValType, k)
	for i := range v {
		v[i] = i32
	}
	return v
}

// handlers binds each channel function of the spec to its handler, by name.
// TestHandlersBindSpec checks that every function of the spec's channel
// part has one and that nothing else is bound.
func handlers() map[string]hostFn {
	return map[string]hostFn{
		"channel_create": channelCreate,
		"send":           send,
		"recv":           recv,
		"recv_any":       recvAny,
		"close":          closeHandle,
		"block_alloc":    blockAlloc,
		"block_size":     blockSize,
		"block_read":     blockRead,
		"block_write":    blockWrite,
		"block_free":     blockFree,
		"register":       register,
		"lookup":         lookup,
		"move":           move,
	}
}

// Table returns every channel function of module "isle" in the spec's
// order, each with its handler.
func Table() []Func {
	h := handlers()
	var t []Func
	for _, f := range spec.Funcs() {
		if f.Part != spec.Channels {
			continue
		}
		t = append(t, Func{Name: f.Name, Params: n(len(f.Params)), Doc: f.Signature() + ": " + f.Doc, fn: h[f.Name]})
	}
	return t
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
				p := procOf(s)
				if p == nil {
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
	s.ReleaseHeld() // first: it may suspend the SIP, and the views below are taken after
	payload, err := read(c, u32(a[2]), u32(a[3]))
	if err != nil {
		return err
	}
	nb := u32(a[5])
	if nb > MaxBlocks {
		return ipc.ErrTooBig
	}
	var blocks [MaxBlocks]ipc.Handle
	if nb > 0 {
		raw, err := read(c, u32(a[4]), 4*nb)
		if err != nil {
			return err
		}
		for i := range nb {
			blocks[i] = ipc.Handle(leU32(raw[4*i:]))
		}
	}
	msg := u32(a[1])
	if msg > 0xFFFF {
		return ipc.ErrNotAllowed
	}
	h := ipc.Handle(u32(a[0]))
	if s.Traced() {
		// One lookup of h for the send and its trace; the urpc message
		// that carries the send, if any, is recorded meanwhile and takes
		// the send into its slot (kernel.SIP.TraceChanSending).
		s.TraceChanSending()
		var con *contract.Contract
		var flow uint64
		if con, flow, err = p.tab.SendTraced(port{s.Core()}, h, contract.MsgID(msg), payload, blocks[:nb]); err == nil {
			s.TraceChanSent(con, contract.MsgID(msg), flow)
		}
	} else {
		err = p.tab.Send(port{s.Core()}, h, contract.MsgID(msg), payload, blocks[:nb])
	}
	if err != nil {
		return err
	}
	s.CountMessage()
	// A receiver on this core that the message woke runs now, straight
	// from here (kernel's direct switch); the send is complete, and the
	// guest sees its result when the receiver suspends.
	s.HandOff()
	return nil
}

// traceRecv records a received message, for a trace.
func traceRecv(s *kernel.SIP, ri ipc.RecvInfo) {
	if s.Traced() && ri.Contract != nil && ri.Msg != ipc.MsgClosed {
		s.TraceChanRecv(ri.Contract, ri.Msg, ri.Flow)
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
			// Posted: a small message from another core that comes
			// while the SIP waits is received into buf at its delivery,
			// straight from the kernel's message slot (docs/ipc.md).
			p.tab.PostRecv(h, buf)
			s.Block()
			var posted bool
			if ri, posted = p.tab.TakePosted(h); !posted {
				continue
			}
			err = nil
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
			// Posted, as recv's: the first small message from another
			// core to make one of the set ready is received into buf at
			// its delivery (docs/ipc.md).
			p.tab.PostRecvAny(p.hs, buf)
			s.Block()
			var posted bool
			if i, ri, posted = p.tab.TakePostedAny(p.hs, p.start%len(p.hs)); !posted {
				continue
			}
			err = nil
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
	info = info[:InfoSize] // one bounds check for the constant offsets below
	var flags uint32
	if ri.Breach {
		flags |= FlagBreach
	}
	binary.LittleEndian.PutUint32(info[InfoMsg:], uint32(ri.Msg))
	binary.LittleEndian.PutUint32(info[InfoLen:], uint32(ri.Len))
	binary.LittleEndian.PutUint32(info[InfoIndex:], index)
	binary.LittleEndian.PutUint32(info[InfoFlags:], flags)
	binary.LittleEndian.PutUint32(info[InfoNBlocks:], uint32(ri.Blocks))
	hs := info[InfoBlocks:InfoSize]
	clear(hs)
	for i := range min(ri.Blocks, len(blocks), MaxBlocks) {
		binary.LittleEndian.PutUint32(hs[4*i:], uint32(blocks[i]))
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
	s.ReleaseHeld()
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
	h, err := p.Register(s, name, ct)
	if err != nil {
		return err
	}
	c.Memory().WriteUint32(u32(a[6]), uint32(h))
	return nil
}

func lookup(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) error {
	name, ct, err := nameArgs(c, s, p, a)
	if err != nil {
		return err
	}
	h, err := p.Lookup(s, name, ct)
	if err != nil {
		return err
	}
	c.Memory().WriteUint32(u32(a[6]), uint32(h))
	return nil
}
