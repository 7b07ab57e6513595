package isle

import (
	"fmt"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/trace"
	"isle/internal/wasi"
)

// MaxTraceEvents is the most events one core's trace ring may hold.
const MaxTraceEvents = trace.MaxEvents

// traceRing returns the kernel's ring size: 0 when tracing is off.
func (c Config) traceRing() (int, error) {
	if c.traceOut == nil {
		return 0, nil
	}
	switch n := c.traceEvents; {
	case n == 0:
		return trace.DefaultEvents, nil
	case n < 0 || n > MaxTraceEvents:
		return 0, configErr("WithTrace", fmt.Sprint(n), "want between 1 and %d events a core", MaxTraceEvents)
	default:
		return n, nil
	}
}

// tracedModules returns the host modules, each function wrapped to record
// its calls (a Syscall event: name, start, duration, errno) when tracing
// is on; as they are when it is off, so that an untraced call costs
// nothing more. The events name a call by its index in callNames(mods).
func tracedModules(on bool, mods []sandbox.HostModule) []sandbox.HostModule {
	if !on {
		return mods
	}
	out := make([]sandbox.HostModule, len(mods))
	id := int32(0)
	for i, hm := range mods {
		out[i] = sandbox.HostModule{Name: hm.Name, Funcs: make([]sandbox.HostFunc, len(hm.Funcs))}
		for j, f := range hm.Funcs {
			fn, call, errno := f.Fn, id, len(f.Results) > 0
			f.Fn = func(c *sandbox.Call, a []uint64) {
				s := kernel.SIPOf(c)
				start := s.TraceCallStart()
				fn(c, a)
				var e uint64
				if errno {
					e = a[0]
				}
				s.TraceCall(call, start, e)
			}
			out[i].Funcs[j] = f
			id++
		}
	}
	return out
}

// callNames names the host functions in the order tracedModules numbers
// them: WASI's by their own names, the others as module.name.
func callNames(mods []sandbox.HostModule) []string {
	var names []string
	for _, hm := range mods {
		for _, f := range hm.Funcs {
			if hm.Name == wasi.ModuleName {
				names = append(names, f.Name)
			} else {
				names = append(names, hm.Name+"."+f.Name)
			}
		}
	}
	return names
}

// writeTrace writes the machine's trace once its cores have stopped (Stop).
func (m *Machine) writeTrace() {
	if m.cfg.traceOut == nil {
		return
	}
	m.traceOnce.Do(func() {
		d, ok := m.k.Trace()
		if !ok {
			m.traceErr = fmt.Errorf("--trace: the machine kept no trace")
			return
		}
		d.Calls = m.calls
		if err := trace.Export(m.cfg.traceOut, d); err != nil {
			m.traceErr = fmt.Errorf("--trace: %v", err)
		}
	})
}

// TraceErr reports why the trace given to WithTrace could not be written;
// nil before Stop, without a trace, or when it was written.
func (m *Machine) TraceErr() error { return m.traceErr }
