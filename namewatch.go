package isle

import "isle/internal/names"

// NameEvent is a name that a SIP of the machine registered or that was
// unregistered (by the SIP, or at its exit).
type NameEvent struct {
	Name       string
	Contract   string // the name of the contract the service speaks
	PID        int64  // the registering SIP
	Registered bool   // false: the name was unregistered
}

// WithNameWatcher makes fn hear of every registration that took effect on
// the machine and every unregistration. fn runs on the kernel loop of the
// core that made the change, so it must not block: hand the event to a
// goroutine of its own (`isle node` does so, to register the machine's names
// cluster-wide).
func (c Config) WithNameWatcher(fn func(NameEvent)) Config { c.nameWatch = fn; return c }

// watchNames connects the machine's name service to cfg's watcher.
func watchNames(svc *names.Service, fn func(NameEvent)) *names.Service {
	if fn != nil {
		svc.Watch(func(name string, e names.Entry, registered bool) {
			ev := NameEvent{Name: name, PID: e.Owner, Registered: registered}
			if e.Contract != nil {
				ev.Contract = e.Contract.Name()
			}
			fn(ev)
		})
	}
	return svc
}
