package kernel

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"isle/internal/sandbox"
	"isle/internal/sched"
	"isle/internal/testprog"
)

// holdService defers every request and answers it only when it is
// cancelled (EINTR) or the service closes.
type holdService struct {
	served    chan *Request // each request, as Serve gets it
	waits     map[*Request]Deferred
	cancelled atomic.Int64
	abandoned atomic.Int64
	closed    atomic.Bool
}

func (h *holdService) Serve(r *Request) {
	h.waits[r] = r.Defer()
	h.served <- r
}

func (h *holdService) Cancel(r *Request) {
	h.cancelled.Add(1)
	d := h.waits[r]
	delete(h.waits, r)
	go d.Finish(func() { r.Errno = 27 }) // from another goroutine, as a real wait's
}

func (h *holdService) Abandon(r *Request) {
	if r.Errno == 27 {
		h.abandoned.Add(1)
	}
}

func (h *holdService) Close() {
	for r, d := range h.waits {
		delete(h.waits, r)
		d.Finish(nil)
	}
	h.closed.Store(true)
}

func holdMachine(t *testing.T) (*Machine, *holdService, *sandbox.Module, func()) {
	t.Helper()
	return holdMachineWith(t, Config{Cores: 2})
}

func holdMachineWith(t *testing.T, cfg Config) (*Machine, *holdService, *sandbox.Module, func()) {
	t.Helper()
	ctx := context.Background()
	var svcID ServiceID
	var bad atomic.Int64
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{testHost(&svcID, &bad)})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Load(ctx, withOneLocal(testprog.Module([][2]string{{"env", "req"}}, loopCalling(0, 1))))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdService{served: make(chan *Request, 8), waits: map[*Request]Deferred{}}
	svcID = m.AddService("hold", h)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	return m, h, mod, func() { m.Stop(); rt.Close(ctx) }
}

// TestKillCancelsADeferredRequest: a SIP waiting for a request that its
// service has deferred is killed: the service gets the cancel, answers, the
// SIP ends, and the reply it never saw goes back to the service.
func TestKillCancelsADeferredRequest(t *testing.T) {
	m, h, mod, stop := holdMachine(t)
	defer stop()
	s := NewSIP(mod)
	if err := m.Spawn(s, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	select {
	case <-h.served:
	case <-deadline:
		t.Fatal("the request never reached the service")
	}
	m.Deliver(0, KillSIP{S: s})
	select {
	case <-s.Done():
	case <-deadline:
		t.Fatal("the killed SIP did not end: its deferred request was not cancelled")
	}
	if r := s.Result(); r.Status() != 137 {
		t.Errorf("status %d, want 137", r.Status())
	}
	if h.cancelled.Load() != 1 {
		t.Errorf("%d cancels, want 1", h.cancelled.Load())
	}
	stop() // the abandon was sent before the kill; the worker has served it once stopped
	if h.abandoned.Load() != 1 {
		t.Errorf("%d abandoned replies, want 1", h.abandoned.Load())
	}
}

// TestStopClosesServicesAfterTheCores: Stop kills a SIP whose request is
// deferred, then closes the service on its worker (which ends the wait),
// and returns only after Close.
func TestStopClosesServicesAfterTheCores(t *testing.T) {
	m, h, mod, stop := holdMachine(t)
	defer stop()
	s := NewSIP(mod)
	if err := m.Spawn(s, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.served:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the service")
	}
	m.Stop()
	if !h.closed.Load() {
		t.Error("Stop returned before the service's Close")
	}
	select {
	case <-s.Done():
	default:
		t.Error("Stop returned with the SIP still alive")
	}
}

// TestWaitingForAServiceSleeps: an idle core whose SIP waits for a
// service's reply, on a host with no CPU to spare, sleeps at once rather
// than poll (the worker making the reply needs that CPU); with CPUs to
// spare it polls its window. The window here is 10 s, so a core that
// polled would not sleep before the test's deadline. (Beside an idle core
// it polls too: TestIdleOthersFromSummaries, since when another core's
// summary arrives is a matter of timing.)
func TestWaitingForAServiceSleeps(t *testing.T) {
	for _, tc := range []struct {
		cores, spare int
		sleep        bool
	}{{1, 0, true}, {1, 1, false}} {
		m, h, mod, stop := holdMachineWith(t, Config{Cores: tc.cores, SpareCPUs: tc.spare, PollWindow: 10 * time.Second})
		s := NewSIP(mod)
		if err := m.Spawn(s, 0); err != nil {
			t.Fatal(err)
		}
		<-h.served // the SIP waits for the reply; its core is idle
		bell := m.cores[0].bell
		deadline := time.Now().Add(2 * time.Second)
		for !bell.Armed() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond) // watching a flag the core sets: no event to wait on
		}
		if slept := bell.Armed(); slept != tc.sleep {
			t.Errorf("%d cores, %d spare CPUs: the core slept %v, want %v", tc.cores, tc.spare, slept, tc.sleep)
		}
		stop()
	}
}

// TestEmptyCoreSleepsWhileAServiceIsAwaited: on a host with no CPU to
// spare, a core that owns no SIP sleeps at once while another core's SIP
// waits for a service's reply, leaving its host CPU to the worker making
// it; with CPUs to spare it polls its window (10 s here, so a core that
// polled would not sleep before the test's deadline).
func TestEmptyCoreSleepsWhileAServiceIsAwaited(t *testing.T) {
	for _, tc := range []struct {
		spare int
		sleep bool
	}{{0, true}, {1, false}} {
		m, h, mod, stop := holdMachineWith(t, Config{Cores: 2, SpareCPUs: tc.spare, PollWindow: 10 * time.Second})
		s := NewSIP(mod)
		if err := m.Spawn(s, 0); err != nil {
			t.Fatal(err)
		}
		<-h.served // the SIP on core 0 waits for the reply; core 1 owns nothing
		bell := m.cores[1].bell
		deadline := time.Now().Add(2 * time.Second)
		for !bell.Armed() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond) // watching a flag the core sets: no event to wait on
		}
		if slept := bell.Armed(); slept != tc.sleep {
			t.Errorf("%d spare CPUs: the empty core slept %v, want %v", tc.spare, slept, tc.sleep)
		}
		stop()
	}
}

// TestIdleOthersFromSummaries: a core counts another as idle, leaving its
// host CPU to the service workers, only while that core's latest summary
// shows nothing to run and no SIP waiting for a service.
func TestIdleOthersFromSummaries(t *testing.T) {
	b := &balancer{sm: sched.NewBalancer(0, 3, []sched.CoreID{1, 2}, sched.BalanceConfig{}),
		peerBusy: make([]bool, 3), peerIdle: make([]bool, 3), peerSvc: make([]bool, 3),
		checker: sched.NewChecker(sched.Duration(time.Millisecond))}
	steps := []struct {
		from     int
		runnable int
		waiting  int
		idle     bool // othersIdle after the summary
		svc      bool // othersAwaitService after the summary
	}{
		{1, 0, 0, true, false}, // core 1 idle
		{2, 2, 0, true, false}, // core 2 busy; core 1 still idle
		{1, 0, 1, false, true}, // core 1 waits for a service: it may poll
		{2, 0, 0, true, true},  // core 2 idle now
		{2, 1, 2, false, true}, // and busy again, waiting too
		{1, 0, 0, true, true},  // core 1's reply came; core 2 still waits
		{2, 1, 0, true, false}, // and core 2's
	}
	for i, st := range steps {
		b.summary(st.from, sched.LoadSummary{Core: sched.CoreID(st.from), Runnable: st.runnable, Waiting: st.waiting, Capacity: 1024})
		if got := b.othersIdle(); got != st.idle {
			t.Errorf("step %d: othersIdle %v, want %v", i, got, st.idle)
		}
		if got := b.othersAwaitService(); got != st.svc {
			t.Errorf("step %d: othersAwaitService %v, want %v", i, got, st.svc)
		}
	}
	var p [summarySize]byte
	want := sched.LoadSummary{Core: 2, Runnable: 3, Weight: 7, Capacity: 512, At: 9, MinProgress: 11, Waiting: 5, Expecting: 13}
	encodeSummary(p[:], want)
	if got := decodeSummary(p[:]); got != want {
		t.Errorf("summary %+v came back %+v", want, got)
	}
}

// TestRequestSize: a request record is two cache lines at most, with the
// slots the services' typed requests fill; each SIP's record is reset on
// every request (SIP.Request).
func TestRequestSize(t *testing.T) {
	if n := unsafe.Sizeof(Request{}); n > 128 {
		t.Errorf("a Request is %d bytes, more than two cache lines", n)
	}
}
