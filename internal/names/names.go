// Package names is isle's name service: a service registers a name with
// the contract it speaks and gets a listener endpoint; a client looks the
// name up with the contract it expects and gets the importer's end of a new
// channel, whose exporter's end arrives at the listener as a Connect message
// (ipc.ListenerContract). A name is the only way to reach a service a SIP
// was not handed an endpoint for, and what it yields is one endpoint: there
// is no ambient authority.
//
// The registry is a kernel table (internal/replica) of immutable Entries,
// shared by every core: lookups read it without a lock or a message;
// registrations write it. It is used through replica.Table, so that it can
// become a replicated table whose writes commit by two-phase commit.
package names

import (
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/replica"
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
	t replica.Table[Entry]
}

// New returns an empty registry backed by a shared table.
func New() *Service { return &Service{t: replica.NewShared[Entry]()} }

// MaxName is the longest name, in bytes.
const MaxName = 256

// Register stores name → e. A name already registered is ErrExists.
// (With the shared table, two registrations of one name racing on two cores
// may both pass the check and the later write wins; a replicated table's
// conflicting writes abort instead.)
func (s *Service) Register(name string, e Entry) error {
	if name == "" || len(name) > MaxName {
		return ipc.ErrInvalid
	}
	if _, ok := s.t.Get(name); ok {
		return ipc.ErrExists
	}
	if r := s.t.Put(name, e); r.Outcome != replica.Committed {
		return ipc.ErrExists
	}
	return nil
}

// Lookup returns the entry of name and checks that the client's contract c
// is the one registered (by fingerprint): ErrNoName, ErrMismatch.
func (s *Service) Lookup(name string, c *contract.Contract) (Entry, error) {
	e, ok := s.t.Get(name)
	if !ok {
		return Entry{}, ipc.ErrNoName
	}
	if c != nil && c != e.Contract && c.Fingerprint() != e.Contract.Fingerprint() {
		return Entry{}, ipc.ErrMismatch
	}
	return e, nil
}

// Unregister removes name if it is still served by listener l.
func (s *Service) Unregister(name string, l *ipc.Endpoint) {
	if e, ok := s.t.Get(name); ok && e.Listener == l {
		s.t.Delete(name)
	}
}
