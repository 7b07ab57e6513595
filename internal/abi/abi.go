// Package abi is the host module "isle" that SIPs import: channels, the
// exchange heap and the name service, as a table of host functions over
// internal/ipc and internal/names. It sits above the kernel, beside
// internal/wasi; guest/c/isle.h and guest/go are its guest side.
//
// The rules of the interface:
//
//   - Every function returns an error code (0 on success, else an ipc.Error
//     value); results go through pointers into guest memory. A pointer or
//     length outside the guest's memory is ErrFault, checked before anything
//     changes, so a fault never loses a message.
//   - recv and recv_any block the SIP (never the core) until a message or a
//     peer's close arrives, unless flags has RecvNonblock.
//   - A SIP's handles are its own: the table is per SIP (Proc), made when the
//     SIP is spawned. There is no way to name another SIP's endpoint.
//   - Contracts come from the guest as source text (generated stubs embed
//     it) and are compiled once per core; two copies of one source are the
//     same contract (contract.Fingerprint).
package abi

import (
	"isle/internal/abi/spec"

	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
	"isle/internal/names"
)

// ModuleName is the import module of isle's own ABI.
const ModuleName = spec.ModuleName

// Layout of struct isle_recv_info in guest memory (guest/c/isle.h).
const (
	InfoMsg     = 0  // u32: message ID, 0xFFFF for Closed
	InfoLen     = 4  // u32: payload bytes (needed size on ErrTooBig)
	InfoIndex   = 8  // u32: recv_any: the index in the wait set
	InfoFlags   = 12 // u32: FlagBreach
	InfoNBlocks = 16 // u32: blocks attached
	InfoBlocks  = 20 // u32[MaxBlocks]: their handles
	MaxBlocks   = spec.MaxBlocks
	InfoSize    = InfoBlocks + 4*MaxBlocks

	FlagBreach   = spec.FlagBreach   // Closed: the peer closed in a state that is not final
	RecvNonblock = spec.RecvNonblock // recv flag: return ErrAgain instead of blocking

	maxWaitSet = 64 // endpoints in one recv_any
	// maxContractSrc bounds a contract source handed to channel_create,
	// register or lookup (ErrTooBig past it), so that compiling a source
	// the core has not seen takes milliseconds, not seconds: the largest
	// contracts of the examples are under 2 KiB.
	maxContractSrc   = 16 << 10
	contractCacheMax = 256 // compiled sources kept per core
)

// System is the ABI's state for one machine: the channel layer, the name
// registry and a per-core cache of compiled contracts.
type System struct {
	ipc   *ipc.System
	names *names.Service
	cores []coreCache // cores[i] is touched only by core i
}

type coreCache struct {
	sets map[string]*contract.Set
	_    [56]byte
}

// New returns the ABI state of a machine of cores cores, with the default
// limits.
func New(cores int) *System { return NewWithLimits(cores, ipc.DefaultLimits()) }

// UseNames keeps the name registry in n (the machine's name table) instead
// of a table of its own. Call it before the machine boots.
func (s *System) UseNames(n *names.Service) { s.names = n }

// NewWithLimits is New with limits lim.
func NewWithLimits(cores int, lim ipc.Limits) *System {
	s := &System{ipc: ipc.NewSystem(cores, lim), names: names.New(), cores: make([]coreCache, cores)}
	for i := range s.cores {
		s.cores[i].sets = map[string]*contract.Set{}
	}
	return s
}

// IPC returns the channel layer.
func (s *System) IPC() *ipc.System { return s.ipc }

// Names returns the name registry.
func (s *System) Names() *names.Service { return s.names }

// Owner is the embedder's per-SIP record (kernel.SIP.Ext) as the channel
// layer sees it: it hands out the SIP's channel state.
type Owner interface {
	Channels() *Proc
}

// procOf returns the channel state of s, or nil when it has none (its Ext
// is no Owner, or hands out none): its calls then answer ErrNoSys.
func procOf(s *kernel.SIP) *Proc {
	if o, ok := s.Ext.(Owner); ok {
		return o.Channels()
	}
	return nil
}

// Proc is a SIP's channel state, handed out by its Owner, made before Spawn
// and touched only on the core that owns the SIP.
type Proc struct {
	sys       *System
	tab       *ipc.Table
	listeners map[ipc.Handle]listener // names this SIP registered
	start     int                     // recv_any's rotation, for fairness
	hs        []ipc.Handle            // scratch
}

type listener struct {
	name string
	ep   *ipc.Endpoint
}

// NewProc returns the channel state for SIP sip.
func (s *System) NewProc(sip *kernel.SIP) *Proc {
	return &Proc{sys: s, tab: s.ipc.NewTable(sip), listeners: map[ipc.Handle]listener{}}
}

// Table returns the SIP's handle table.
func (p *Proc) Table() *ipc.Table { return p.tab }

// OnExit is the channel layer's exit hook (kernel.ExitHook): it closes the
// endpoints of a SIP that has channels (Exit) and drops its names.
func (s *System) OnExit(c *kernel.Core, sip *kernel.SIP) {
	if p := procOf(sip); p != nil {
		p.Exit(c)
	}
}

// Exit closes every endpoint and frees every block of the SIP and drops its
// names; peers see Closed. It must run on the core that owned the SIP, when
// the SIP has ended.
func (p *Proc) Exit(c *kernel.Core) {
	for _, l := range p.listeners {
		p.sys.names.Unregister(c, l.name, l.ep)
	}
	clear(p.listeners)
	p.tab.CloseAll(port{c})
}

// port is the ipc.Port of the core a call runs on.
type port struct{ c *kernel.Core }

func (p port) Core() int { return p.c.ID() }

func (p port) Send(to int, pkt *ipc.Packet) { p.c.SendTo(to, (*delivery)(pkt)) }

func (p port) SendInline(to int, r *ipc.Route, head, body []byte) {
	p.c.SendData(to, (*inlineDelivery)(r), head, body)
}

func (p port) Wake(t *ipc.Table) { p.c.Wake(t.Owner.(*kernel.SIP)) }

func (p port) Here(t *ipc.Table) bool {
	s, ok := t.Owner.(*kernel.SIP)
	return ok && p.c.Owns(s)
}

// delivery is a packet as the kernel carries it between cores: a
// SIPDeliverable for the SIP of the packet's destination table, so that the
// kernel follows that SIP if it migrates.
type delivery ipc.Packet

func (d *delivery) Deliver(c *kernel.Core) { ipc.Deliver(port{c}, (*ipc.Packet)(d)) }

// Target is the SIP whose table the packet is addressed to. Table.Owner is
// immutable, so any core may read it.
func (d *delivery) Target() *kernel.SIP { return (*ipc.Packet)(d).Dest().Owner.(*kernel.SIP) }

var _ kernel.SIPDeliverable = (*delivery)(nil)

// inlineDelivery is an inline message's route as the kernel carries it: a
// DataDeliverable that follows the SIP of the route's table.
type inlineDelivery ipc.Route

func (d *inlineDelivery) DeliverData(c *kernel.Core, data []byte) {
	ipc.DeliverInline(port{c}, (*ipc.Route)(d), data)
}

// Target is the SIP whose table the route leads to.
func (d *inlineDelivery) Target() *kernel.SIP { return (*ipc.Route)(d).Dest().Owner.(*kernel.SIP) }

var _ kernel.DataDeliverable = (*inlineDelivery)(nil)

// An inline message fits a kernel message's data.
var _ [kernel.DataSize - ipc.InlineData]struct{}

// compile returns the contract called name in src, compiled once per core.
func (s *System) compile(core int, src, name []byte) (*contract.Contract, error) {
	if len(src) > maxContractSrc {
		return nil, ipc.ErrTooBig
	}
	cache := s.cores[core].sets
	set, ok := cache[string(src)]
	if !ok {
		var diags []contract.Diagnostic
		set, diags = contract.CompileSource("guest", src)
		if len(diags) > 0 {
			return nil, ipc.ErrInvalid
		}
		if len(cache) >= contractCacheMax {
			clear(cache)
		}
		cache[string(src)] = set
	}
	c := set.Lookup(string(name))
	if c == nil {
		return nil, ipc.ErrInvalid
	}
	return c, nil
}
