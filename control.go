package isle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"isle/internal/kernel"
)

// Listing and killing SIPs from outside the machine: a running machine is
// listed (Live, Processes) and its SIPs killed (Kill, Process.Kill) through
// this embedding API, and through the control socket (observe.go).

// registry is the machine's index of live SIPs by pid, for the embedder.
//
// Ownership: shared by the embedder's goroutines and every core, behind mu.
// A core touches it twice in a SIP's life: when the SIP is spawned (on the
// parent's core, before the child can run) and when it ends (the exit
// hook); the embedder adds the SIPs it spawns. Neither is a hot path, and
// the index is the embedder's, as the controller's rings are: no core reads
// it. The embedder adds a SIP once Spawn has returned, and by then it may
// have ended: its exit then leaves a mark in gone, and the add takes the
// mark instead of an entry.
type registry struct {
	mu   sync.Mutex
	sips map[int64]*kernel.SIP
	gone map[int64]struct{} // ended before they were added
}

func (r *registry) init() { r.sips, r.gone = map[int64]*kernel.SIP{}, map[int64]struct{}{} }

func (r *registry) add(s *kernel.SIP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ended := r.gone[s.PID()]; ended {
		delete(r.gone, s.PID())
		return
	}
	r.sips[s.PID()] = s
}

// OnExit is the registry's exit hook (kernel.ExitHook): s is no longer live.
func (r *registry) OnExit(_ *kernel.Core, s *kernel.SIP) { r.remove(s) }

func (r *registry) remove(s *kernel.SIP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sips[s.PID()] != s {
		r.gone[s.PID()] = struct{}{}
		return
	}
	delete(r.sips, s.PID())
}

func ended(s *kernel.SIP) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// lookup returns the live SIP of pid, or nil.
func (r *registry) lookup(pid int64) *kernel.SIP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sips[pid]
}

// live returns the live SIPs' pids, sorted, and one of them (nil if none).
func (r *registry) live() ([]int64, *kernel.SIP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pids []int64
	var any *kernel.SIP
	for pid, s := range r.sips {
		pids = append(pids, pid)
		any = s
	}
	slices.Sort(pids)
	return pids, any
}

// ErrNoProcess is Kill's error for a pid that names no live SIP.
var ErrNoProcess = errors.New("no such process")

// Live returns the pids of the machine's live SIPs (those the embedder
// spawned and all their descendants), sorted.
func (m *Machine) Live() []int64 {
	pids, _ := m.procs.live()
	return pids
}

// WaitIdle waits until no SIP is live on the machine, or ctx is done.
func (m *Machine) WaitIdle(ctx context.Context) error {
	for {
		_, s := m.procs.live()
		if s == nil {
			return nil
		}
		select {
		case <-s.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Kill kills the live SIP pid, wherever it runs; its status becomes 137 and
// its children end with it. It returns once the kill is sent; the SIP ends
// within a slice of its core (Process.Wait waits for that).
func (m *Machine) Kill(pid int64) error {
	s := m.procs.lookup(pid)
	if s == nil {
		return fmt.Errorf("kill %d: %w", pid, ErrNoProcess)
	}
	return m.kill(s)
}

// kill sends the kill to the SIP's home, the core it was spawned on, which
// knows where it is for as long as it lives (it owns it, or forwards the
// kill after it); a kill of a SIP that has just ended does nothing.
func (m *Machine) kill(s *kernel.SIP) error {
	if !m.k.Deliver(s.Home(), kernel.KillSIP{S: s}) {
		return fmt.Errorf("kill %d: the machine has stopped", s.PID())
	}
	return nil
}

// Kill kills the process (see Machine.Kill); killing one that has ended
// returns an error wrapping ErrNoProcess.
func (p *Process) Kill() error {
	if ended(p.sip) {
		return fmt.Errorf("kill %d: %w", p.sip.PID(), ErrNoProcess)
	}
	return p.m.kill(p.sip)
}

// MemoryInUse returns the bytes of linear memory charged to the machine's
// memory budget now, and the budget.
func (m *Machine) MemoryInUse() (used, budget uint64) {
	return m.budget.Used(), m.budget.Limit()
}
