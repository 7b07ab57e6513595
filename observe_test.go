package isle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"isle"
)

// observed boots a two-core machine serving a control socket and /metrics,
// running one forever.c SIP on core 1 and a napper on core 0.
func observed(t *testing.T) (sock, metrics string, spinner *isle.Process, spinnerName string) {
	t.Helper()
	ctx := context.Background()
	sock = filepath.Join(t.TempDir(), "ctl")
	cl, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config().WithCores(2).WithOversubscribe(true).WithControl(cl).WithMetrics(ml)
	m, err := isle.Boot(ctx, cfg.WithStdio(nil, &bytes.Buffer{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	path := testdataC(t, "forever")
	prog, err := m.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	spinner, err = m.SpawnWith(prog, []string{"forever"}, isle.SpawnOptions{Core: isle.OnCore(1), Nice: 5})
	spinnerName = path
	if err != nil {
		t.Fatal(err)
	}
	return sock, "http://" + ml.Addr().String() + "/metrics", spinner, spinnerName
}

// TestControlSocketSnapshots: a client of the control socket sees each
// core's counters grow and the spinning SIP running on its core, with its
// nice value and CPU time; a kill through the socket ends it.
func TestControlSocketSnapshots(t *testing.T) {
	sock, _, spinner, spinnerName := observed(t)
	cc, err := isle.DialControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	var s isle.Snapshot
	// The spinner has run once the core that owns it has been busy.
	for i := 0; ; i++ {
		if s, err = cc.Snapshot(); err != nil {
			t.Fatal(err)
		}
		if len(s.SIPs) == 1 && s.SIPs[0].CPUTime > 0 && s.Cores[1].Busy > 0 {
			break
		}
		if i == 100000 {
			t.Fatalf("the spinner never showed running: %+v", s)
		}
	}
	if len(s.Cores) != 2 || s.Cores[0].Core != 0 || s.Cores[1].Core != 1 {
		t.Fatalf("cores %+v", s.Cores)
	}
	p := s.SIPs[0]
	if p.PID != spinner.PID() || p.Name != spinnerName || p.Core != 1 || p.Nice != 5 || p.State != "R" {
		t.Errorf("SIP %+v, want pid %d %s on core 1, nice 5, state R", p, spinner.PID(), spinnerName)
	}
	if s.Cores[1].RunQueue != 1 || s.Cores[1].Switches == 0 {
		t.Errorf("core 1 %+v: want one runnable SIP and its switches counted", s.Cores[1])
	}
	next, err := cc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if next.Cores[1].At <= s.Cores[1].At || next.SIPs[0].CPUTime < p.CPUTime {
		t.Errorf("a later snapshot went back: %+v then %+v", s, next)
	}
	if err := cc.Kill(spinner.PID()); err != nil {
		t.Fatal(err)
	}
	if st := spinner.Wait(); st.Status() != 137 {
		t.Errorf("killed through the socket: status %d, want 137", st.Status())
	}
	if err := cc.Kill(spinner.PID()); err == nil || !strings.Contains(err.Error(), "no such process") {
		t.Errorf("a second kill: %v, want no such process", err)
	}
}

// TestControlSocketBadRequests: a request that is not JSON, an unknown op
// and a line past MaxControlRequest get an error line or the connection
// closed, never a stopped machine.
func TestControlSocketBadRequests(t *testing.T) {
	sock, _, _, _ := observed(t)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("{not json\n{\"op\":\"reboot\"}\n"))
	buf := make([]byte, 4096)
	var got []byte
	for strings.Count(string(got), "\n") < 2 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v after %q", err, got)
		}
		got = append(got, buf[:n]...)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if !strings.Contains(lines[0], `"error":"not a request`) || !strings.Contains(lines[1], `unknown op \"reboot\"`) {
		t.Errorf("replies %q", lines)
	}
	c.Write(bytes.Repeat([]byte("x"), isle.MaxControlRequest+10))
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("read after an overlong line: %v", err)
	}
	cc, err := isle.DialControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := cc.Snapshot(); err != nil {
		t.Errorf("after a bad client: %v", err)
	}
}

// TestMetricsParse: /metrics is Prometheus' text format, as its own parser
// reads it: every family has its help and type, one sample per core.
func TestMetricsParse(t *testing.T) {
	_, url, _, _ := observed(t)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	for _, name := range []string{"isle_core_busy_seconds_total", "isle_core_run_queue", "isle_core_messages_sent_total",
		"isle_core_messages_received_total", "isle_core_migrations_in_total", "isle_core_wasted_intervals_total", "isle_core_sips"} {
		f := fams[name]
		if f == nil {
			t.Errorf("no family %s in\n%s", name, body)
			continue
		}
		if f.GetHelp() == "" || !strings.Contains(string(body), "# TYPE "+name+" ") {
			t.Errorf("%s: no HELP or TYPE line", name)
		}
		if len(f.Metric) != 2 {
			t.Errorf("%s: %d samples, want one per core", name, len(f.Metric))
			continue
		}
		for i, m := range f.Metric {
			if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "core" || l[0].GetValue() != string(rune('0'+i)) {
				t.Errorf("%s sample %d: labels %v", name, i, l)
			}
		}
	}
	if f := fams["isle_core_sips"]; f != nil && len(f.Metric) == 2 && f.Metric[1].GetGauge().GetValue() != 1 {
		t.Errorf("core 1 has %v SIPs, want the spinner", f.Metric[1].GetGauge().GetValue())
	}
}
