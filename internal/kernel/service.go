package kernel

// The service host: a worker goroutine per service, consuming a ring from
// every core and replying on a ring to every core.
//
// The rules of the interface:
//
//   - Serve runs on the worker's goroutine, one request at a time, and fills
//     in the request's results; the host then replies to the core that asked.
//   - A request that must wait (a socket with nothing to read, a module
//     being compiled) must not hold the worker that other SIPs share: Serve
//     calls Request.Defer and returns; whatever goroutine the service starts
//     for the wait later hands the request back with Deferred.Finish, and
//     the host replies then. Until Finish the request stays lent to the
//     service.
//   - Cancel: when a SIP waiting for a deferred request is killed, its core
//     sends the service a cancel for that request (msgCancel). A service that
//     implements Canceler gets Cancel(req) on the worker's goroutine, if the
//     request is still deferred, and must then Finish it promptly (with any
//     errno): the kill takes effect when the reply reaches the core.
//   - Abandon: a reply that reaches a killed SIP's core is never seen by the
//     SIP, so what the service gave it there (a new file handle, an accepted
//     connection) would stay open for nobody. The core sends the request
//     back (msgAbandon); a service that implements Abandoner gets
//     Abandon(req), with the results it had filled in, and releases them.
//   - Stop: Machine.Stop stops the services only after every core has ended,
//     so after every SIP's exit hook ran and posted its release requests.
//     The worker then serves what is left in its rings (replies to the ended
//     cores are dropped), and, if the service implements Closer, calls Close
//     on its own goroutine: nothing else touches a service's tables, so
//     closing never races a request. Stop waits for the workers of Closers;
//     a Closer's Close must end the waits of its deferred requests.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"isle/internal/urpc"
	"isle/internal/wasip1"
)

// Request is a SIP's call to a service. It is owned by the SIP, lent to the
// service from the moment the core sends it until the service replies: one
// owner at a time, moved by message.
//
// The kernel routes requests and never reads their arguments: the fields
// below are raw slots, and what each carries for an operation is the
// service's to say. Each service declares its requests as typed values (an
// operation's arguments as named fields: service.FSRenameReq,
// service.ConsoleReadReq, ...) with a Put that fills the slots and an
// accessor that reads them back, so that no caller or server names a slot
// by hand. Putting a request copies scalars and string headers into the
// record: nothing is allocated.
type Request struct {
	Op    uint32 // the operation, service-defined
	Fd    int32  // a handle argument
	Off   int64  // an integer argument (an offset, a size), and a result
	N     int64  // an integer argument (a count), and a result
	Flags uint64 // flag bits of an argument
	Buf   []byte // data in (e.g. to write) and out (e.g. read); reused
	Str   string // a name argument (a path)
	Str2  string // a second name argument (a rename's new path)
	Ref   any    // a result the service hands over (e.g. a compiled module); moves to the SIP

	sip *SIP // the SIP waiting for the reply; kernel-private

	// Set and read by the service host, on its worker goroutine only
	// (beside Errno, so that the three share one word).
	host     *serviceHost // the host serving the request now
	from     int32        // the core it came from: the reply goes there
	deferred bool         // Serve deferred it and it is not finished yet

	Errno wasip1.Errno // result: 0, or a WASI errno
}

// PID returns the process id of the SIP waiting for the request, or 0 for a
// request that nobody waits for (Core.Post). A service may use it to keep
// per-SIP accounts.
func (r *Request) PID() int64 {
	if r.sip == nil {
		return 0
	}
	return r.sip.pid
}

// Service is a user-level service reached by messages: console, file system.
// Serve runs on the service's own worker goroutine, one request at a time,
// and may block on the host for a bounded time; a wait for the outside world
// goes through Defer. It fills in the request's results.
type Service interface {
	Serve(req *Request)
}

// Canceler is a service whose deferred requests can be cut short: Cancel
// runs on the worker's goroutine for a request that is still deferred, when
// the SIP waiting for it is killed. The service must Finish it promptly.
type Canceler interface {
	Cancel(req *Request)
}

// Abandoner is a service whose replies can hand a SIP something to
// release: Abandon runs on the worker's goroutine with a request whose
// reply came after its SIP was killed (so the SIP never saw it).
type Abandoner interface {
	Abandon(req *Request)
}

// Closer is a service holding host resources: Close runs once, on the
// worker's goroutine, after the machine's cores have ended and the worker
// has served what was left in its rings.
type Closer interface {
	Close()
}

// Deferred is a request that Serve has returned without answering; the
// service answers it with Finish, from any goroutine.
type Deferred struct {
	req  *Request
	host *serviceHost
}

// Deferrable reports whether req is being served by a service host (inside
// Serve, on the worker's goroutine) and so may be deferred; a service's own
// tests that call Serve directly get false, and the service answers at once.
func (r *Request) Deferrable() bool { return r.host != nil && !r.deferred }

// Defer marks req, being served, as answered later. Call it only inside
// Serve, on the worker's goroutine.
func (r *Request) Defer() Deferred {
	if r.host == nil || r.deferred {
		panic("kernel: Defer outside Serve, or twice")
	}
	r.deferred = true
	return Deferred{req: r, host: r.host}
}

// Finish hands a deferred request back, its results filled in. then, when
// not nil, runs first on the worker's goroutine (to record a result in the
// service's own tables); the reply follows it to the core. Finish may be
// called from any goroutine, once; after the machine stopped, then still
// runs on the worker's goroutine (the reply is dropped) if the worker has
// not ended; a Closer's Close should wait for its goroutines' Finish calls,
// so that each then runs.
func (d Deferred) Finish(then func()) {
	sh := d.host
	sh.lateMu.Lock()
	if sh.ended {
		sh.lateMu.Unlock()
		return
	}
	sh.late = append(sh.late, late{req: d.req, then: then})
	sh.nlate.Store(int32(len(sh.late)))
	sh.lateMu.Unlock()
	sh.bell.Ring()
}

type late struct {
	req  *Request
	then func()
}

// serviceHost runs one service.
//
// Ownership: name, svc, bell, in, out are immutable after Boot; the rings'
// sides are as urpc defines them; late is guarded by lateMu (producers are
// any goroutine finishing a deferred request); stop is set once by
// Machine.Stop; done is closed by the worker when it has ended.
type serviceHost struct {
	name string
	svc  Service
	bell *urpc.Doorbell
	in   []*urpc.Ring // in[i]: core i → service; immutable after Boot
	out  []*urpc.Ring // out[i]: service → core i
	stop atomic.Bool
	done chan struct{}

	lateMu sync.Mutex
	late   []late       // finished deferred requests, in order
	nlate  atomic.Int32 // len(late), read without the lock
	ended  bool         // the worker has ended: Finish drops what comes
}

func (sh *serviceHost) run(m *Machine) {
	defer close(sh.done)
	var idleSince time.Time
	for !sh.stop.Load() {
		if sh.drain() {
			idleSince = time.Time{}
			continue
		}
		// Poll for a window after the last request, as cores do: a SIP
		// making one file call after another finds the worker awake instead
		// of paying a wake-up (~100 µs on this VM) for each.
		if idleSince.IsZero() {
			idleSince = time.Now()
		}
		if time.Since(idleSince) < m.cfg.PollWindow {
			runtime.Gosched()
			continue
		}
		idleSince = time.Time{}
		sh.bell.Arm()
		if sh.stop.Load() || !sh.allEmpty() {
			sh.bell.Disarm()
			continue
		}
		sh.bell.Wait(nil)
	}
	// Every core has ended: serve what they left (their SIPs' release
	// requests), then close.
	for sh.drain() {
	}
	if c, ok := sh.svc.(Closer); ok {
		c.Close()
	}
	sh.lateMu.Lock()
	sh.ended = true
	left := sh.late
	sh.late = nil
	sh.lateMu.Unlock()
	for _, l := range left {
		if l.then != nil {
			l.then() // the service is closed: it releases what then holds
		}
	}
}

// drain serves a batch from every ring and the deferred requests finished
// since, and reports whether there was any.
func (sh *serviceHost) drain() bool {
	var msg urpc.Msg
	worked := false
	for i, r := range sh.in {
		for k := 0; k < drainBatch && r.Recv(&msg); k++ {
			worked = true
			req := msg.Ref.(*Request)
			switch msg.Type {
			case msgCancel:
				if req.deferred && req.host == sh {
					if c, ok := sh.svc.(Canceler); ok {
						c.Cancel(req)
					}
				}
				continue
			case msgAbandon:
				if a, ok := sh.svc.(Abandoner); ok {
					a.Abandon(req)
				}
				continue
			}
			req.host, req.from = sh, int32(i)
			sh.svc.Serve(req)
			if !req.deferred {
				sh.reply(req)
			}
		}
		r.Release()
	}
	if sh.nlate.Load() > 0 {
		worked = true
		sh.lateMu.Lock()
		done := sh.late
		sh.late = nil
		sh.nlate.Store(0)
		sh.lateMu.Unlock()
		for _, l := range done {
			if l.then != nil {
				l.then()
			}
			l.req.deferred = false
			sh.reply(l.req)
		}
	}
	return worked
}

// reply sends a served request back to the core it came from. Once the
// machine stops, the cores no longer read: a reply that does not fit is
// dropped.
func (sh *serviceHost) reply(req *Request) {
	req.host = nil
	if req.sip == nil {
		// A Post: nobody waits for it, so no reply is sent. (One would
		// also wake-preempt the SIP that posted it, Preempt, for nothing:
		// a SIP posting a write behind after another would be preempted
		// every 20 µs.)
		return
	}
	out := sh.out[req.from]
	for !out.Send(msgReply, nil, req) {
		if sh.stop.Load() {
			return
		}
		out.Notify() // wake the core so that it drains
		runtime.Gosched()
	}
}

func (sh *serviceHost) allEmpty() bool {
	for _, r := range sh.in {
		if !r.Empty() {
			return false
		}
	}
	return sh.nlate.Load() == 0
}
