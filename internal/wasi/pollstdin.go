package wasi

import (
	"encoding/binary"
	"time"

	"isle/internal/kernel"
	"isle/internal/service"
)

// Readiness of stdin in poll_oneoff. The machine's stdin (a terminal, a
// pipe, a file) is read by the console service, which knows whether it has
// input buffered or has met its end; a SIP with nothing else ready waits
// for it there, suspended (its core runs others), until input comes or its
// deadline passes. Regular files stay always ready, as in POSIX poll(2).

// stdinPollSlice is how long a poll_oneoff that waits on stdin and on
// sockets together waits on the sockets before it looks at stdin again:
// the two services cannot answer one wait, so stdin's input is seen at
// most that late.
const stdinPollSlice = 20 * time.Millisecond

// eventFdReadwriteHangup is the event's flags bit for an end of input.
const eventFdReadwriteHangup = 1

// pollStdin asks the console service whether stdin is ready for the
// fd_read subscriptions at idx, waiting (if wait) until it is or until the
// deadline (machine time; -1: none) passes. It returns the events with the
// ready ones appended, and how many it appended.
func pollStdin(s *kernel.SIP, p *Proc, subs []byte, idx []uint32, events []byte, wait bool, deadline int64) ([]byte, int) {
	var timeout int64 // not waiting
	switch {
	case !wait:
	case deadline < 0:
		timeout = -1
	default:
		timeout = max(deadline-s.Machine().Now(), 0)
	}
	service.ConsoleReadyReq{Timeout: timeout}.Put(s.Request())
	rep := s.Call(p.Stdin)
	if rep.Errno == 0 && rep.N == 0 {
		return events, 0
	}
	for _, i := range idx {
		sub := subs[i*subscriptionSize:]
		events = appendEvent(events, sub, eventFdRead, Errno(rep.Errno), uint64(max(rep.N, 0)))
		if rep.Errno == 0 && rep.N < 0 {
			binary.LittleEndian.PutUint16(events[len(events)-eventSize+24:], eventFdReadwriteHangup)
		}
	}
	return events, len(idx)
}

// pollStdinSockets waits on stdin and sockets together, neither ready yet:
// on the sockets stdinPollSlice at a time, looking at stdin between, until
// one is ready or the deadline (machine time; -1: none) passes.
func pollStdinSockets(s *kernel.SIP, p *Proc, subs []byte, stdin, socks []uint32, events []byte, deadline int64) ([]byte, int) {
	for {
		until := s.Machine().Now() + int64(stdinPollSlice)
		if deadline >= 0 {
			until = min(until, deadline)
		}
		var got, more int
		events, got = pollSockets(s, p, subs, socks, events, false, until)
		events, more = pollStdin(s, p, subs, stdin, events, false, -1)
		if got+more > 0 || (deadline >= 0 && s.Machine().Now() >= deadline) {
			return events, got + more
		}
	}
}
