package isle

import (
	"fmt"

	"isle/internal/trace"
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
		return 0, fmt.Errorf("--trace-events %d: want between 1 and %d events a core", n, MaxTraceEvents)
	default:
		return n, nil
	}
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
		if err := trace.Export(m.cfg.traceOut, d); err != nil {
			m.traceErr = fmt.Errorf("--trace: %v", err)
		}
	})
}

// TraceErr reports why the trace given to WithTrace could not be written;
// nil before Stop, without a trace, or when it was written.
func (m *Machine) TraceErr() error { return m.traceErr }
