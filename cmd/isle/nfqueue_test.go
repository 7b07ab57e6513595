package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A delay on a link where the kernel has no netem (docs/cluster.md, "Faults
// between nodes"): an iptables rule in a node's namespace hands every packet
// arriving on its veth to netfilter queue 0 (NFQUEUE), which holds it in
// the kernel until a verdict comes from the socket bound to the queue. The
// delayer below is that socket's reader: it notes when each packet was
// queued and accepts it once the delay has passed, oldest first (a batch
// verdict accepts every packet up to an id). So the packet itself is
// delayed, in order, at the IP layer, both TCP's segments and their
// acknowledgements, as netem delays them; unlike netem, the timer is a
// user-space goroutine's, so under load a packet waits longer than the
// delay (never less), and there is no jitter, reordering or duplication to
// ask for.
//
// The messages (linux/netfilter/nfnetlink_queue.h): a netlink header
// (host order), an nfgenmsg (family, version, queue number big-endian),
// then attributes (length and type in host order, values big-endian).

const (
	nfnlSubsysQueue    = 3
	nfqnlMsgPacket     = nfnlSubsysQueue<<8 | 0
	nfqnlMsgConfig     = nfnlSubsysQueue<<8 | 2
	nfqnlMsgVerdictBat = nfnlSubsysQueue<<8 | 3
	nfqaPacketHdr      = 1
	nfqaVerdictHdr     = 2
	nfqaCfgCmd         = 1
	nfqaCfgParams      = 2
	nfqaCfgMask        = 4
	nfqaCfgFlags       = 5
	nfqnlCfgCmdBind    = 1
	nfqnlCopyMeta      = 1
	nfqaCfgFFailOpen   = 1 // a full queue accepts rather than drops
	nfAccept           = 1
)

// delayer accepts the packets of one namespace's netfilter queue 0 after
// delay.
//
// Ownership: fd and delay are immutable once started; seq and held are
// the starting goroutine's until run starts, then run's; stop is closed
// once, by Close.
type delayer struct {
	fd    int
	delay time.Duration
	seq   uint32       // the last netlink message's sequence number
	held  []heldPacket // the packets held, oldest first
	stop  chan struct{}
	done  chan struct{} // closed when run has returned
	once  sync.Once
}

type heldPacket struct {
	id uint32
	at time.Time
}

// inNetns runs f on a thread of its own switched into network namespace ns:
// a socket f makes there stays there. The thread is never switched back:
// locked and left locked, it ends with its goroutine.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := unix.Setns(int(h.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %v", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// startDelayer binds queue 0 of namespace ns and starts accepting its
// packets after delay; Close stops it.
func startDelayer(ns string, delay time.Duration) (*delayer, error) {
	d := &delayer{fd: -1, delay: delay, stop: make(chan struct{}), done: make(chan struct{})}
	err := inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		d.fd = fd
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err == nil {
		unix.SetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
		unix.SetsockoptInt(d.fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
		err = d.configure()
	}
	if err == nil {
		err = unix.SetNonblock(d.fd, true)
	}
	if err != nil {
		if d.fd >= 0 {
			unix.Close(d.fd)
		}
		return nil, fmt.Errorf("netfilter queue in %s: %v", ns, err)
	}
	go d.run()
	return d, nil
}

// configure binds the queue, asks for the packets' metadata only (no
// payload is copied), and makes a full queue let packets through.
func (d *delayer) configure() error {
	params := append(binary.BigEndian.AppendUint32(nil, 0), nfqnlCopyMeta) // copy range, mode
	flags := binary.BigEndian.AppendUint32(nil, nfqaCfgFFailOpen)
	for _, attrs := range [][]byte{
		attr(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, 0}), // command, pad, pf (unused by a bind)
		attr(nfqaCfgParams, params),
		append(attr(nfqaCfgFlags, flags), attr(nfqaCfgMask, flags)...),
	} {
		if err := d.request(d.message(nfqnlMsgConfig, unix.NLM_F_ACK, attrs)); err != nil {
			return err
		}
	}
	return nil
}

// attr is one netlink attribute, padded to 4 bytes.
func attr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// message is a netlink message for queue 0: header, nfgenmsg, attributes.
func (d *delayer) message(typ uint16, flags uint16, attrs []byte) []byte {
	d.seq++
	b := binary.NativeEndian.AppendUint32(nil, uint32(unix.NLMSG_HDRLEN+4+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, unix.NLM_F_REQUEST|flags)
	b = binary.NativeEndian.AppendUint32(b, d.seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, unix.AF_UNSPEC, 0, 0, 0) // family, version 0, queue 0
	return append(b, attrs...)
}

// request sends msg and reads the kernel's acknowledgement (the socket is
// still blocking, and no packet comes before the bind's answer).
func (d *delayer) request(msg []byte) error {
	if err := unix.Sendto(d.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(d.fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("no acknowledgement (%d bytes)", n)
	}
	if e := int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); e != 0 {
		return unix.Errno(-e)
	}
	return nil
}

// run reads the queue's packets and accepts each once it has waited the
// delay, until Close.
func (d *delayer) run() {
	defer close(d.done)
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		wait := 10 * time.Millisecond // at most: the stop is looked at as often
		if len(d.held) > 0 {
			wait = min(wait, max(0, time.Until(d.held[0].at.Add(d.delay))))
		}
		ts := unix.NsecToTimespec(int64(wait))
		unix.Ppoll([]unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}, &ts, nil)
		for {
			n, _, err := unix.Recvfrom(d.fd, buf, 0)
			if err != nil {
				break // EAGAIN: read all there is
			}
			d.note(buf[:n], time.Now())
		}
		d.release(time.Now())
	}
}

// note records the packets of the messages in b as queued at now.
func (d *delayer) note(b []byte, now time.Time) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return
		}
		if binary.NativeEndian.Uint16(b[4:]) == nfqnlMsgPacket {
			for a := b[unix.NLMSG_HDRLEN+4 : l]; len(a) >= 4; {
				al := int(binary.NativeEndian.Uint16(a))
				if al < 4 || al > len(a) {
					break
				}
				if binary.NativeEndian.Uint16(a[2:])&0x3fff == nfqaPacketHdr && al >= 8 {
					d.held = append(d.held, heldPacket{id: binary.BigEndian.Uint32(a[4:]), at: now})
				}
				a = a[min(len(a), (al+3)&^3):]
			}
		}
		b = b[min(len(b), (l+3)&^3):]
	}
}

// release accepts, in one batch verdict, every held packet whose delay has
// passed.
func (d *delayer) release(now time.Time) {
	k := 0
	for k < len(d.held) && !now.Before(d.held[k].at.Add(d.delay)) {
		k++
	}
	if k == 0 {
		return
	}
	v := binary.BigEndian.AppendUint32(nil, nfAccept)
	v = binary.BigEndian.AppendUint32(v, d.held[k-1].id)
	unix.Sendto(d.fd, d.message(nfqnlMsgVerdictBat, 0, attr(nfqaVerdictHdr, v)), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	d.held = append(d.held[:0], d.held[k:]...)
}

// Close stops the delayer and closes its socket: the queue is unbound, and
// the rule's --queue-bypass lets packets through from then on.
func (d *delayer) Close() {
	d.once.Do(func() {
		close(d.stop)
		<-d.done
		unix.Close(d.fd)
	})
}
