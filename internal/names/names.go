// Package names is isle's name service: a service registers a name with
// the contract it speaks and gets a listener endpoint; a client looks the
// name up with the contract it expects and gets the importer's end of a new
// channel, whose exporter's end arrives at the listener as a Connect message
// (ipc.ListenerContract). A name is the only way to reach a service a SIP
// was not handed an endpoint for, and what it yields is one endpoint: there
// is no ambient authority.
//
// The registry is a kernel table of immutable Entries. On a machine it is the
// machine's name table (internal/tables), replicated on every core by
// two-phase commit or shared, as chosen at boot (`--tables names=…`): a lookup
// is a local read on the caller's core, without a lock or a message; a
// registration writes through the table, and the registering SIP waits
// (Block) for a replicated write's decision. New, without a machine, keeps a
// shared table of its own (tests).
package names

import (
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
	"isle/internal/replica"
	"isle/internal/tables"
)

// Entry is one registered name. Immutable once stored.
type Entry struct {
	Contract *contract.Contract // what the service speaks
	Listener *ipc.Endpoint      // where connections go
	Home     *ipc.Table         // the table the listener was made in
	Core     int                // the core it was made on (routing starts there)
	Owner    int64              // the registering SIP's pid
}

// Service is a machine's name registry.
type Service struct {
	t store // immutable after New or OnTable
	// watch, when set (Watch, before the machine starts; immutable after),
	// hears of each registration that took effect and each unregistration.
	watch func(name string, e Entry, registered bool)
}

// Watch makes fn hear of every registration that took effect and every
// unregistration, on the core of the SIP that made it (so fn must not
// block: it runs in a kernel loop). Call it before the machine starts.
// A cluster node uses it to mirror the machine's names cluster-wide.
func (s *Service) Watch(fn func(name string, e Entry, registered bool)) { s.watch = fn }

func (s *Service) notify(name string, e Entry, registered bool) {
	if s.watch != nil {
		s.watch(name, e, registered)
	}
}

// store is where a registry keeps its entries: a machine's name table
// (*tables.Table[Entry]) or, without a machine, a shared table of its own
// (own). Put's done is called with the decision of a write it answered
// Pending; own never answers Pending, and ignores c.
type store interface {
	Get(c *kernel.Core, name string) (Entry, bool)
	Put(c *kernel.Core, name string, e Entry, done func(replica.Outcome)) replica.Outcome
	Delete(c *kernel.Core, name string, done func(replica.Outcome)) replica.Outcome
}

// own is a store of a registry's own: a shared table, written at once.
type own struct{ t *replica.Shared[Entry] }

func (o own) Get(_ *kernel.Core, name string) (Entry, bool) { return o.t.Get(name) }

func (o own) Put(_ *kernel.Core, name string, e Entry, _ func(replica.Outcome)) replica.Outcome {
	return o.t.Put(name, e).Outcome
}

func (o own) Delete(_ *kernel.Core, name string, _ func(replica.Outcome)) replica.Outcome {
	return o.t.Delete(name).Outcome
}

// New returns an empty registry backed by a shared table of its own.
func New() *Service { return &Service{t: own{replica.NewShared[Entry]()}} }

// OnTable returns a registry kept in a machine's table, which the machine
// starts on every core (tables.Start in kernel.Config.Init).
func OnTable(t *tables.Table[Entry]) *Service { return &Service{t: t} }

func (s *Service) get(c *kernel.Core, name string) (Entry, bool) { return s.t.Get(c, name) }

// MaxName is the longest name, in bytes.
const MaxName = 256

// Register stores name → e. A name already registered is ErrExists.
// (With the shared table, two registrations of one name racing on two cores
// may both pass the check and the later write wins; a replicated table's
// conflicting writes abort instead.)
// With a machine table, Register runs in a host function of sip, on its
// core; a write that must wait for two-phase commit blocks sip (not the core)
// until the decision. sip and c may be nil without a machine table.
func (s *Service) Register(sip *kernel.SIP, name string, e Entry) error {
	if name == "" || len(name) > MaxName {
		return ipc.ErrInvalid
	}
	var c *kernel.Core
	if sip != nil {
		c = sip.Core()
	}
	if _, ok := s.get(c, name); ok {
		return ipc.ErrExists
	}
	var decided bool
	var outcome replica.Outcome
	o := s.t.Put(c, name, e, func(r replica.Outcome) {
		outcome, decided = r, true
		c.Wake(sip) // sip is blocked on c: blocked SIPs do not migrate
	})
	if o == replica.Pending {
		for !decided {
			sip.Block()
		}
		o = outcome
	}
	if o != replica.Committed {
		return ipc.ErrExists // a conflicting registration won
	}
	s.notify(name, e, true)
	return nil
}

// Lookup returns the entry of name and checks that the client's contract c
// is the one registered (by fingerprint): ErrNoName, ErrMismatch.
// With a machine table it reads core's replica (core may be nil without one).
func (s *Service) Lookup(core *kernel.Core, name string, c *contract.Contract) (Entry, error) {
	e, ok := s.get(core, name)
	if !ok {
		return Entry{}, ipc.ErrNoName
	}
	if c != nil && c != e.Contract && c.Fingerprint() != e.Contract.Fingerprint() {
		return Entry{}, ipc.ErrMismatch
	}
	return e, nil
}

// Unregister removes name if it is still served by listener l; with a
// machine table it runs on core c and does not wait for the decision.
func (s *Service) Unregister(c *kernel.Core, name string, l *ipc.Endpoint) {
	e, ok := s.get(c, name)
	if !ok || e.Listener != l {
		return
	}
	s.notify(name, e, false)
	s.t.Delete(c, name, nil)
}
