package kernel

import (
	"errors"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CoreStats are one core's counters. They are core-local while the machine
// runs; Machine.Stats returns them after Stop.
type CoreStats struct {
	Core        int
	CPUs        []int  // host CPUs the core's goroutine was seen on (getcpu samples)
	Moves       uint64 // samples that found the core on another CPU than the last
	Samples     uint64 // getcpu samples taken
	SIPs        uint64 // SIPs the core received to run
	Exits       uint64 // SIPs that ended on the core
	Switches    uint64 // context switches into a SIP
	Preemptions uint64 // SIPs suspended because their slice was spent
	Capacity    int64  // the core's capacity (1024 = full)
	MigratedIn  uint64 // runnable SIPs received from other cores
	MigratedOut uint64 // runnable SIPs given to other cores
	StealsAsked uint64 // steal requests sent while idle
	Forwarded   uint64 // deliveries passed on after a SIP that had moved
	// WastedIntervals counts intervals longer than the bound during which
	// this core was idle while another had SIPs waiting the whole time.
	WastedIntervals uint64
	// Wasted lists the first of those intervals (machine time, ns).
	Wasted   []WastedInterval
	Sleeps   uint64 // times the core slept on its doorbell
	MsgsSent uint64 // urpc messages sent to cores and services
	MsgsRecv uint64 // urpc messages received

	// DirectSwitches counts the switches (among Switches) made straight
	// from a sender to the receiver it woke, with no turn of the loop
	// (handoff.go), and from a yielder to the SIP it picked (yield.go).
	DirectSwitches uint64
	// Yields counts the yields of the core's SIPs (SIP.Yield), whether
	// they switched or kept the yielder running (yield.go).
	Yields uint64
	Busy   int64 // ns spent running SIPs (polling in a SIP's Block is idle time)
	// ServiceRequests counts the requests the core's SIPs sent to services
	// and waited for (Call, CallWith): a call served on the core itself
	// (docs/wasi.md, "Calls served on the core") adds nothing.
	ServiceRequests uint64
}

// WastedInterval is one violation of the no-wasted-cores invariant seen by a
// core: it was idle from Start to End while core Busy had SIPs waiting.
type WastedInterval struct {
	Busy       int
	Start, End int64
}

// sampleCPU records which host CPU the core's goroutine is on now.
func (c *Core) sampleCPU() {
	cpu, ok := getcpu()
	if !ok {
		return
	}
	c.stats.Samples++
	if c.cpu >= 0 && cpu != c.cpu {
		c.stats.Moves++
	}
	c.cpu = cpu
	for _, seen := range c.stats.CPUs {
		if seen == cpu {
			return
		}
	}
	c.stats.CPUs = append(c.stats.CPUs, cpu)
}

func getcpu() (int, bool) {
	var cpu, node uint32
	_, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), uintptr(unsafe.Pointer(&node)), 0)
	return int(cpu), errno == 0
}

// Stats returns every core's counters; valid after Stop.
func (m *Machine) Stats() []CoreStats {
	if !m.stopped.Load() {
		return nil
	}
	out := make([]CoreStats, len(m.cores))
	for i, c := range m.cores {
		out[i] = c.stats
	}
	return out
}

// pingRun is a ping-pong between two cores, driven by the first.
type pingRun struct {
	peer    int
	rounds  uint64
	start   time.Time
	elapsed time.Duration
	done    chan struct{}
}

// PingPong measures a message and its answer between the kernel loops of
// cores from and to, rounds times, and returns the mean one-way time.
func (m *Machine) PingPong(from, to int, rounds int) (time.Duration, error) {
	if !m.booted || m.stopped.Load() {
		return 0, errors.New("machine is not running")
	}
	if from == to || from < 0 || to < 0 || from >= len(m.cores) || to >= len(m.cores) || rounds < 1 {
		return 0, errors.New("ping-pong needs two distinct cores and at least one round")
	}
	p := &pingRun{peer: to, rounds: uint64(rounds), done: make(chan struct{})}
	m.ctlSend(from, msgPingStart, nil, p)
	<-p.done
	return p.elapsed / time.Duration(2*rounds), nil
}

// MeasureCoreMessage boots a two-core machine with no SIPs and returns the
// mean one-way time of a message between its two kernel loops.
func MeasureCoreMessage(rounds int) (time.Duration, error) {
	m, err := New(Config{Cores: 2})
	if err != nil {
		return 0, err
	}
	if err := m.Boot(); err != nil {
		return 0, err
	}
	defer m.Stop()
	m.PingPong(0, 1, 1000) // warm up: both cores polling
	return m.PingPong(0, 1, rounds)
}
