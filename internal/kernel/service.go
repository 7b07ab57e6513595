package kernel

import (
	"runtime"
	"sync/atomic"
	"time"

	"isle/internal/urpc"
)

// Request is a SIP's call to a service. It is owned by the SIP, lent to the
// service from the moment the core sends it until the service replies: one
// owner at a time, moved by message.
type Request struct {
	Op  uint32 // service-defined operation
	Fd  int32  // service-defined handle, e.g. a host file
	Off int64  // an offset or size argument
	Buf []byte // data in (e.g. to write) and out (e.g. read); reused
	Str string // a name argument (a path)
	Ref any    // a result the service hands over (e.g. a compiled module); moves to the SIP

	N     int64  // result: a count or value
	Errno uint16 // result: 0, or a WASI errno

	sip *SIP // the SIP waiting for the reply; kernel-private
}

// Service is a user-level service reached by messages: console, file system.
// Serve runs on the service's own worker goroutine, one request at a time,
// and may block on the host. It fills in the request's results.
type Service interface {
	Serve(req *Request)
}

// serviceHost runs one service: a worker goroutine consuming a ring from
// every core and replying on a ring to every core.
type serviceHost struct {
	name string
	svc  Service
	bell *urpc.Doorbell
	in   []*urpc.Ring // in[i]: core i → service; immutable after Boot
	out  []*urpc.Ring // out[i]: service → core i
	stop atomic.Bool
}

func (sh *serviceHost) run(m *Machine) {
	var msg urpc.Msg
	var idleSince time.Time
	for !sh.stop.Load() {
		worked := false
		for i, r := range sh.in {
			for k := 0; k < drainBatch && r.Recv(&msg); k++ {
				worked = true
				req := msg.Ref.(*Request)
				sh.svc.Serve(req)
				for !sh.out[i].Send(msgReply, nil, req) {
					sh.out[i].Notify() // wake the core so that it drains
					runtime.Gosched()
				}
			}
			r.Release()
		}
		if worked {
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
}

func (sh *serviceHost) allEmpty() bool {
	for _, r := range sh.in {
		if !r.Empty() {
			return false
		}
	}
	return true
}
