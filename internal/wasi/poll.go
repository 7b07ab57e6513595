package wasi

import (
	"encoding/binary"
	"math"
	"time"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// Subscription and event layouts of poll_oneoff.
const (
	subscriptionSize = 48 // userdata u64 @0, tag u8 @8, clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40; fd: fd u32 @16
	eventSize        = 32 // userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24

	eventClock   = 0
	eventFdRead  = 1
	eventFdWrite = 2

	subclockAbstime = 1

	eventrwflagsHangup = 1 // the peer closed the connection (event flags @24)
)

// pollOneoff(in *subscription, out *event, nsubscriptions u32, nevents *u32)
//
// Every clock subscription's deadline is computed once, against one clock
// reading at entry, so a relative timeout is measured from the call, not
// from each look at the clock (which would push it back for ever).
func pollOneoff(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	in, out, n := u32(a[0]), u32(a[1]), u32(a[2])
	m := c.Memory()
	if n == 0 || n > maxSubscriptions {
		return EINVAL
	}
	subs, ok := m.Read(in, n*subscriptionSize)
	if !ok {
		return EFAULT
	}
	if _, ok := m.Read(out, n*eventSize); !ok {
		return EFAULT
	}
	// Copy: the views go stale once the SIP sleeps and others run.
	subs = append([]byte(nil), subs...)

	now := s.Machine().Now()
	deadlines, deadline, errno := clockDeadlines(subs, n, now)
	if errno != ESUCCESS {
		return errno
	}
	w := pollFds(s, p, subs, n)
	now = w.wait(s, p, subs, deadline, now)
	events := w.events
	for i, d := range deadlines {
		if d >= 0 && d <= now {
			events = appendEvent(events, subs[i*subscriptionSize:], eventClock, ESUCCESS, 0)
		}
	}
	// The output buffer was checked above; the SIP may have slept, but a
	// memory never shrinks, so the same range is still valid.
	if !m.Write(out, events) || !m.WriteUint32(u32(a[3]), uint32(len(events)/eventSize)) {
		return EFAULT
	}
	return ESUCCESS
}

// clockDeadlines returns the deadline of each of the n subscriptions
// (machine time; -1: not a clock) and the earliest of them (-1: none), or
// EINVAL for a bad clock subscription or an unknown tag.
func clockDeadlines(subs []byte, n uint32, now int64) ([]int64, int64, Errno) {
	deadlines := make([]int64, n)
	deadline := int64(-1)
	for i := range deadlines {
		sub := subs[i*subscriptionSize:]
		deadlines[i] = -1
		switch sub[8] {
		case eventClock:
			d, errno := clockDeadline(sub, now, time.Now().UnixNano())
			if errno != ESUCCESS {
				return nil, 0, errno
			}
			deadlines[i] = d
			if deadline < 0 || d < deadline {
				deadline = d
			}
		case eventFdRead, eventFdWrite:
		default:
			return nil, 0, EINVAL
		}
	}
	return deadlines, deadline, ESUCCESS
}

// fdPoll is a poll_oneoff's fd subscriptions, sorted: the events of those
// answered at once, and the indexes of those a service must answer.
type fdPoll struct {
	events []byte   // the events so far
	ready  int      // how many of events are ready fds
	socks  []uint32 // subscriptions on sockets, by index
	stdin  []uint32 // fd_read subscriptions on stdin, by index
}

// pollFds answers the fd subscriptions that need no service (bad fds,
// files, stdout and stderr) and sorts out the others.
func pollFds(s *kernel.SIP, p *Proc, subs []byte, n uint32) fdPoll {
	w := fdPoll{events: make([]byte, 0, n*eventSize)}
	for i := uint32(0); i < n; i++ {
		sub := subs[i*subscriptionSize:]
		tag := sub[8]
		if tag == eventClock {
			continue
		}
		e := p.fd(s, binary.LittleEndian.Uint32(sub[16:]))
		switch {
		case e == nil:
			w.events = appendEvent(w.events, sub, tag, EBADF, 0)
		case tag == eventFdRead && e.stream == 0:
			w.stdin = append(w.stdin, i)
			continue
		case tag == eventFdWrite && e.stream > 0:
			// stdout and stderr: the console service takes every write.
			w.events = appendEvent(w.events, sub, tag, ESUCCESS, 1)
		case e.stream >= 0:
			w.events = appendEvent(w.events, sub, tag, EBADF, 0)
		case e.sock:
			w.socks = append(w.socks, i)
			continue
		default:
			// Files are always ready, as in POSIX poll(2); a directory
			// is ready too (reads then say EISDIR).
			w.events = appendEvent(w.events, sub, tag, ESUCCESS, 0)
		}
		w.ready++
	}
	return w
}

// wait asks the services about stdin and the sockets, and, when nothing is
// ready, sleeps the SIP until the deadline (machine time; -1: none). It
// returns the machine time after.
func (w *fdPoll) wait(s *kernel.SIP, p *Proc, subs []byte, deadline, now int64) int64 {
	if len(w.stdin) > 0 {
		var got int
		w.events, got = pollStdin(s, p, subs, w.stdin, w.events, w.ready == 0 && len(w.socks) == 0, deadline)
		w.ready += got
		now = s.Machine().Now()
	}
	if len(w.socks) > 0 && len(w.stdin) > 0 && w.ready == 0 {
		w.events, w.ready = pollStdinSockets(s, p, subs, w.stdin, w.socks, w.events, deadline)
		now = s.Machine().Now()
	} else if len(w.socks) > 0 {
		var got int
		w.events, got = pollSockets(s, p, subs, w.socks, w.events, w.ready > 0, deadline)
		w.ready += got
		now = s.Machine().Now()
	}
	if w.ready == 0 && deadline > now {
		// A deadline past the machine's lifetime (math.MaxInt64) sleeps
		// until the SIP is killed: the core runs others meanwhile.
		s.SleepUntil(deadline)
		now = s.Machine().Now()
	}
	return now
}

// clockDeadline returns when a clock subscription fires, in machine time
// (now is the machine's monotonic clock, wall the realtime clock, both read
// once at the call's entry). As in wasmtime, the realtime and monotonic
// clocks may be waited on, relative or absolute (ABSTIME); another clock or
// an unknown flag is EINVAL; the precision is ignored. A deadline that does
// not fit in machine time saturates at math.MaxInt64: never.
func clockDeadline(sub []byte, now, wall int64) (int64, Errno) {
	id := binary.LittleEndian.Uint32(sub[16:])
	timeout := binary.LittleEndian.Uint64(sub[24:])
	flags := binary.LittleEndian.Uint16(sub[40:])
	if flags&^subclockAbstime != 0 || (id != clockRealtime && id != clockMonotonic) {
		return 0, EINVAL
	}
	switch {
	case flags&subclockAbstime == 0:
		return after(now, timeout), ESUCCESS
	case id == clockMonotonic:
		return int64(min(timeout, math.MaxInt64)), ESUCCESS
	case timeout <= uint64(wall):
		return now, ESUCCESS
	}
	return after(now, timeout-uint64(wall)), ESUCCESS
}

// after returns now+d, saturating at math.MaxInt64 (now is never negative).
func after(now int64, d uint64) int64 {
	if d > uint64(math.MaxInt64-now) {
		return math.MaxInt64
	}
	return now + int64(d)
}

func appendEvent(events, sub []byte, typ byte, errno Errno, nbytes uint64) []byte {
	var ev [eventSize]byte
	copy(ev[0:8], sub[0:8])
	binary.LittleEndian.PutUint16(ev[8:], uint16(errno))
	ev[10] = typ
	binary.LittleEndian.PutUint64(ev[16:], nbytes)
	return append(events, ev[:]...)
}

// maxSocketWait bounds one wait of the network service in poll_oneoff, so
// that a SIP polling sockets holds its network worker for at most that long
// at a time.
const maxSocketWait = 50 * time.Millisecond

// pollYields is how many times a poll_oneoff that finds none of its lent
// sockets ready looks again on the core before it asks the network worker
// to wait. Before each look the SIP yields its core (whose loop drains its
// rings and runs any other runnable SIP) and the core's thread yields its
// host CPU (service.YieldCPU): on a host whose CPUs are all busy, the
// client that will make a socket ready is often a thread waiting for that
// CPU, and a wait in the worker costs several thread wake-ups before the
// reply is back (docs/net.md, "Polls that look again before they wait").
const pollYields = 4

// pollSockets asks the SIP's network worker which of the socket
// subscriptions are ready, waiting (at most maxSocketWait at a time) until
// one is or the deadline (machine time; -1: none) passes, unless others are
// ready already. It returns the events with the ready ones appended.
func pollSockets(s *kernel.SIP, p *Proc, subs []byte, socks []uint32, events []byte, now bool, deadline int64) ([]byte, int) {
	if evs, got, ok := p.pollInlineAgain(s, subs, socks, events, now, deadline); ok && (got > 0 || now || (deadline >= 0 && s.Machine().Now() >= deadline)) {
		return evs, got // answered on the core: ready, or no wait asked for
	}
	for {
		wait := int64(0)
		if !now {
			wait = int64(maxSocketWait)
			if deadline >= 0 {
				wait = min(wait, max(deadline-s.Machine().Now(), 0))
			}
		}
		req := s.Request()
		service.NetPollReq{Timeout: wait}.Put(req)
		for _, i := range socks {
			sub := subs[i*subscriptionSize:]
			e := p.fd(s, binary.LittleEndian.Uint32(sub[16:]))
			ev := uint16(service.NetPollRead)
			if sub[8] == eventFdWrite {
				ev = service.NetPollWrite
			}
			service.AppendNetPoll(req, e.handle, ev)
		}
		rep := p.netCall(s)
		if rep.Errno != 0 {
			for _, i := range socks {
				sub := subs[i*subscriptionSize:]
				events = appendEvent(events, sub, sub[8], Errno(rep.Errno), 0)
			}
			return events, len(socks)
		}
		got := 0
		for k, i := range socks {
			ev, ok := service.NetPollEvent(rep, k)
			if !ok {
				break
			}
			sub := subs[i*subscriptionSize:]
			switch {
			case ev == service.NetPollNotOne:
				events = appendEvent(events, sub, sub[8], EBADF, 0)
				got++
			case ev != 0:
				events = appendSockEvent(events, sub, ev)
				got++
			}
		}
		if got > 0 || now || (deadline >= 0 && s.Machine().Now() >= deadline) {
			return events, got
		}
	}
}

// pollInlineAgain is pollInline, tried again up to pollYields times, each
// after a yield of the core and of its host CPU, while nothing is ready, a
// wait is asked for (now false) and the deadline (machine time; -1: none)
// has not passed.
func (p *Proc) pollInlineAgain(s *kernel.SIP, subs []byte, socks []uint32, events []byte, now bool, deadline int64) ([]byte, int, bool) {
	evs, got, ok := p.pollInline(s, subs, socks, events)
	for i := 0; i < pollYields && ok && got == 0 && !now; i++ {
		if deadline >= 0 && s.Machine().Now() >= deadline {
			break
		}
		service.YieldCPU()
		s.Yield()
		evs, got, ok = p.pollInline(s, subs, socks, events)
	}
	return evs, got, ok
}
