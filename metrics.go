package isle

import (
	"bytes"
	"net/http"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// /metrics: a snapshot (observe.go) in Prometheus' text exposition format,
// one family per counter with a core label; rates (busy %, messages per
// second) are for the scraper to take (rate(isle_core_busy_seconds_total[1m])).

// coreMetric is one per-core family: its name, help, type and value.
type coreMetric struct {
	name, help string
	typ        dto.MetricType
	value      func(c CoreSnapshot) float64
}

const (
	counter = dto.MetricType_COUNTER
	gauge   = dto.MetricType_GAUGE
)

// coreMetrics lists the per-core families, in the order they are written.
func coreMetrics() []coreMetric {
	u := func(f func(c CoreSnapshot) uint64) func(c CoreSnapshot) float64 {
		return func(c CoreSnapshot) float64 { return float64(f(c)) }
	}
	return []coreMetric{
		{"isle_core_busy_seconds_total", "Seconds the core spent running SIPs.", counter,
			func(c CoreSnapshot) float64 { return float64(c.Busy) / 1e9 }},
		{"isle_core_run_queue", "Runnable SIPs in the core's run queue.", gauge,
			func(c CoreSnapshot) float64 { return float64(c.RunQueue) }},
		{"isle_core_capacity", "The core's capacity (1024 = a full core).", gauge,
			func(c CoreSnapshot) float64 { return float64(c.Capacity) }},
		{"isle_core_switches_total", "Context switches into a SIP.", counter, u(func(c CoreSnapshot) uint64 { return c.Switches })},
		{"isle_core_preemptions_total", "SIPs suspended because their slice was spent.", counter, u(func(c CoreSnapshot) uint64 { return c.Preemptions })},
		{"isle_core_messages_sent_total", "urpc messages the core sent to cores and services.", counter, u(func(c CoreSnapshot) uint64 { return c.MsgsSent })},
		{"isle_core_messages_received_total", "urpc messages the core received.", counter, u(func(c CoreSnapshot) uint64 { return c.MsgsRecv })},
		{"isle_core_migrations_in_total", "Runnable SIPs the core received from other cores.", counter, u(func(c CoreSnapshot) uint64 { return c.MigratedIn })},
		{"isle_core_migrations_out_total", "Runnable SIPs the core gave to other cores.", counter, u(func(c CoreSnapshot) uint64 { return c.MigratedOut })},
		{"isle_core_wasted_intervals_total", "Intervals longer than the wasted-core bound in which the core idled while SIPs waited elsewhere.", counter, u(func(c CoreSnapshot) uint64 { return c.Wasted })},
		{"isle_core_sleeps_total", "Times the core slept on its doorbell.", counter, u(func(c CoreSnapshot) uint64 { return c.Sleeps })},
	}
}

// metricFamilies turns a snapshot into Prometheus families.
func metricFamilies(s Snapshot) []*dto.MetricFamily {
	sips := make([]int, len(s.Cores))
	for _, p := range s.SIPs {
		if p.Core >= 0 && p.Core < len(sips) {
			sips[p.Core]++
		}
	}
	ms := append(coreMetrics(), coreMetric{"isle_core_sips", "Live SIPs the core owns.", gauge,
		func(c CoreSnapshot) float64 { return float64(sips[c.Core]) }})
	var out []*dto.MetricFamily
	for _, cm := range ms {
		mf := &dto.MetricFamily{Name: proto.String(cm.name), Help: proto.String(cm.help), Type: cm.typ.Enum()}
		for _, c := range s.Cores {
			v := cm.value(c)
			m := &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("core"), Value: proto.String(strconv.Itoa(c.Core))}}}
			if cm.typ == counter {
				m.Counter = &dto.Counter{Value: proto.Float64(v)}
			} else {
				m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
			}
			mf.Metric = append(mf.Metric, m)
		}
		out = append(out, mf)
	}
	return out
}

// writeMetrics writes the families in the text exposition format.
func writeMetrics(buf *bytes.Buffer, s Snapshot) error {
	for _, mf := range metricFamilies(s) {
		if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
			return err
		}
	}
	return nil
}

func (m *Machine) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s, err := m.Snapshot(r.Context())
	if err != nil {
		http.Error(w, "isle: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	var buf bytes.Buffer
	if err := writeMetrics(&buf, s); err != nil {
		http.Error(w, "isle: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	w.Write(buf.Bytes())
}
