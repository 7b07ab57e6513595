package isle

// Instances: one program started N times, one per core, all offered the same
// --listen sockets (docs/net.md).

import (
	"context"
	"fmt"
)

// WithInstances has Run start n instances of its program, instance i on core
// i mod the machine's cores, each (when n > 1) with ISLE_INSTANCE=i and
// ISLE_INSTANCES=n in its environment, and all offered the same --listen
// sockets: a connection goes to the instance whose accept takes it
// (docs/net.md). Run returns when every instance has ended, with the status
// of the first that failed, or of instance 0.
func (c Config) WithInstances(n int) Config { c.instances = n; return c }

// MaxInstances is the most instances WithInstances takes.
const MaxInstances = 1024

// SpawnInstances starts n instances of prog, instance i on core i mod the
// machine's cores with ISLE_INSTANCE=i and ISLE_INSTANCES=n in its
// environment (one instance: Spawn, wherever the machine places it).
func (m *Machine) SpawnInstances(prog *Program, args []string, n int) ([]*Process, error) {
	if n < 1 || n > MaxInstances {
		return nil, fmt.Errorf("--instances %d: want 1 to %d", n, MaxInstances)
	}
	if n == 1 {
		p, err := m.Spawn(prog, args)
		return []*Process{p}, err
	}
	var ps []*Process
	for i := 0; i < n; i++ {
		p, err := m.SpawnWith(prog, args, SpawnOptions{Core: OnCore(i % m.cores),
			Env: []string{fmt.Sprintf("ISLE_INSTANCE=%d", i), fmt.Sprintf("ISLE_INSTANCES=%d", n)}})
		if err != nil {
			return nil, err // the caller stops the machine, which kills the others
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// waitInstances waits for every instance to end, or for ctx to be cancelled
// (a signal to the command: then the machine stops, killing every SIP
// within a slice). One instance that fails leaves the others running; the
// status is the first failure's, or instance 0's.
func (m *Machine) waitInstances(ctx context.Context, ps []*Process) ExitStatus {
	done := make(chan ExitStatus, len(ps))
	for _, p := range ps {
		go func() { done <- p.Wait() }()
	}
	var failed *ExitStatus
	for range ps {
		var e ExitStatus
		select {
		case e = <-done:
		case <-ctx.Done():
			m.Stop(ctx)
			e = <-done
		}
		if failed == nil && e.Status() != 0 {
			failed = &e
		}
	}
	if failed != nil {
		return *failed
	}
	return ps[0].Wait()
}
