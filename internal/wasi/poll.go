package wasi

import (
	"encoding/binary"
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
)

// pollOneoff(in *subscription, out *event, nsubscriptions u32, nevents *u32)
func pollOneoff(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	in, out, n := u32(a[0]), u32(a[1]), u32(a[2])
	m := c.Memory()
	if n == 0 {
		return EINVAL
	}
	if uint64(n)*subscriptionSize > uint64(m.Size()) {
		return EFAULT
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
	start := now          // relative timeouts count from here, also after a sleep
	deadline := int64(-1) // earliest clock deadline, machine time
	ready := 0
	events := make([]byte, 0, n*eventSize)
	var socks []uint32 // subscriptions on sockets, by index
	for i := uint32(0); i < n; i++ {
		sub := subs[i*subscriptionSize:]
		tag := sub[8]
		switch tag {
		case eventClock:
			d, errno := clockDeadline(s, sub, now)
			if errno != ESUCCESS {
				events = appendEvent(events, sub, tag, errno, 0)
				ready++
				continue
			}
			if deadline < 0 || d < deadline {
				deadline = d
			}
		case eventFdRead, eventFdWrite:
			fd := binary.LittleEndian.Uint32(sub[16:])
			e := p.fd(s, fd)
			switch {
			case e == nil:
				events = appendEvent(events, sub, tag, EBADF, 0)
			case tag == eventFdRead && e.stream == 0, tag == eventFdWrite && e.stream > 0:
				events = appendEvent(events, sub, tag, ESUCCESS, 1)
			case e.stream >= 0:
				events = appendEvent(events, sub, tag, EBADF, 0)
			case e.sock:
				socks = append(socks, i)
				continue
			default:
				// Files are always ready, as in POSIX poll(2); a directory
				// is ready too (reads then say EISDIR).
				events = appendEvent(events, sub, tag, ESUCCESS, 0)
			}
			ready++
		default:
			return EINVAL
		}
	}
	if len(socks) > 0 {
		var got int
		events, got = pollSockets(s, p, subs, socks, events, ready > 0, deadline)
		ready += got
		now = s.Machine().Now()
	}
	if ready == 0 && deadline >= 0 {
		if deadline > now {
			s.SleepUntil(deadline)
		}
		now = s.Machine().Now()
	}
	if ready == 0 || deadline >= 0 {
		for i := uint32(0); i < n; i++ {
			sub := subs[i*subscriptionSize:]
			if sub[8] != eventClock {
				continue
			}
			if d, errno := clockDeadline(s, sub, start); errno == ESUCCESS && d <= now {
				events = appendEvent(events, sub, eventClock, ESUCCESS, 0)
			}
		}
	}
	// The output buffer was checked above; the SIP may have slept, but a
	// memory never shrinks, so the same range is still valid.
	if !m.Write(out, events) || !m.WriteUint32(u32(a[3]), uint32(len(events)/eventSize)) {
		return EFAULT
	}
	return ESUCCESS
}

// clockDeadline returns when a clock subscription fires, in machine time.
func clockDeadline(s *kernel.SIP, sub []byte, now int64) (int64, Errno) {
	id := binary.LittleEndian.Uint32(sub[16:])
	timeout := int64(binary.LittleEndian.Uint64(sub[24:]))
	flags := binary.LittleEndian.Uint16(sub[40:])
	if flags&subclockAbstime == 0 {
		if timeout < 0 {
			timeout = 1<<63 - 1 - now
		}
		return now + timeout, ESUCCESS
	}
	switch id {
	case clockMonotonic:
		return timeout, ESUCCESS
	case clockRealtime:
		return now + (timeout - time.Now().UnixNano()), ESUCCESS
	}
	return 0, ENOTSUP
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

// pollSockets asks the SIP's network worker which of the socket
// subscriptions are ready, waiting (at most maxSocketWait at a time) until
// one is or the deadline (machine time; -1: none) passes, unless others are
// ready already. It returns the events with the ready ones appended.
func pollSockets(s *kernel.SIP, p *Proc, subs []byte, socks []uint32, events []byte, now bool, deadline int64) ([]byte, int) {
	for {
		wait := int64(0)
		if !now {
			wait = int64(maxSocketWait)
			if deadline >= 0 {
				wait = min(wait, max(deadline-s.Machine().Now(), 0))
			}
		}
		req := s.Request()
		req.Op = service.NetPoll
		req.Off = wait
		for _, i := range socks {
			sub := subs[i*subscriptionSize:]
			e := p.fd(s, binary.LittleEndian.Uint32(sub[16:]))
			ev := uint16(1)
			if sub[8] == eventFdWrite {
				ev = 2
			}
			req.Buf = binary.LittleEndian.AppendUint32(req.Buf, uint32(e.handle))
			req.Buf = binary.LittleEndian.AppendUint16(req.Buf, ev)
			req.Buf = append(req.Buf, 0, 0)
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
			if 2*k+2 > len(rep.Buf) {
				break
			}
			ev := binary.LittleEndian.Uint16(rep.Buf[2*k:])
			sub := subs[i*subscriptionSize:]
			switch {
			case ev == 0xffff:
				events = appendEvent(events, sub, sub[8], EBADF, 0)
				got++
			case ev != 0:
				events = appendEvent(events, sub, sub[8], ESUCCESS, 1)
				got++
			}
		}
		if got > 0 || now || (deadline >= 0 && s.Machine().Now() >= deadline) {
			return events, got
		}
	}
}
