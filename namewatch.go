package isle

import (
	"strings"

	"isle/internal/cluster/gateway"
	"isle/internal/contract"
	"isle/internal/names"
)

// NameEvent is a name that a SIP of the machine registered or that was
// unregistered (by the SIP, or at its exit).
type NameEvent struct {
	Name     string
	Contract string // the name of the contract the service speaks
	// Source is the contract's normalised source, followed by that of every
	// contract its endpoint fields name: what another node needs to carry
	// channels to the service (ClusterConfig, RemoteName.Source).
	Source     string
	PID        int64 // the registering SIP
	Registered bool  // false: the name was unregistered
}

// WithNameWatcher makes fn hear of every registration that took effect on
// the machine and every unregistration. fn runs on the kernel loop of the
// core that made the change, so it must not block: hand the event to a
// goroutine of its own (`isle node` does so, to register the machine's names
// cluster-wide). The names a node's gateway registers for services of other
// nodes are not the machine's own: fn does not hear of them.
func (c Config) WithNameWatcher(fn func(NameEvent)) Config { c.nameWatch = fn; return c }

// watchNames connects the machine's name service to cfg's watcher.
func watchNames(svc *names.Service, fn func(NameEvent), gw *gateway.Gateway) *names.Service {
	if fn != nil {
		svc.Watch(func(name string, e names.Entry, registered bool) {
			if gw != nil && gw.Serves(e.Owner) {
				return
			}
			ev := NameEvent{Name: name, PID: e.Owner, Registered: registered}
			if e.Contract != nil {
				ev.Contract, ev.Source = e.Contract.Name(), contractSource(e.Contract)
			}
			fn(ev)
		})
	}
	return svc
}

// contractSource is c's normalised source and that of every contract
// reachable from it through endpoint fields, each once: a source that
// compiles, on another node, to contracts of the same fingerprints.
func contractSource(c *contract.Contract) string {
	seen := map[*contract.Contract]bool{c: true}
	var b strings.Builder
	for todo := []*contract.Contract{c}; len(todo) > 0; {
		c, todo = todo[0], todo[1:]
		b.WriteString(c.String())
		b.WriteString("\n")
		for i := range c.NumMessages() {
			m := c.Message(contract.MsgID(i))
			for j := range m.NumFields() {
				if f := m.Field(j); f.Contract != nil && !seen[f.Contract] {
					seen[f.Contract] = true
					todo = append(todo, f.Contract)
				}
			}
		}
	}
	return b.String()
}
