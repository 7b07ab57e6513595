package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestMainUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"urpc", "--bogus"}, {"urpc", "urpc"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
		if lines := strings.Count(strings.TrimSpace(errOut.String()), "\n"); lines != 0 || errOut.Len() == 0 {
			t.Errorf("Main(%q) wrote %q to stderr, want one line", args, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("Main(%q) wrote %q to stdout", args, out.String())
		}
	}
}

func TestOutputFormats(t *testing.T) {
	rows := []Row{{"a_ns", 1.5, "ns"}, {"b_msgs_per_s", 2e7, "msgs/s"}}
	var out bytes.Buffer
	WriteTable(&out, rows)
	if !strings.Contains(out.String(), "a_ns") || !strings.Contains(out.String(), "msgs/s") {
		t.Errorf("table %q lacks its rows", out.String())
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"a_ns","value":1.5,"unit":"ns"},{"name":"b_msgs_per_s","value":20000000,"unit":"msgs/s"}]`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
}

// TestMeasurementsAgree runs each measurement briefly: they must finish,
// check their own data, and return positive times.
func TestMeasurementsAgree(t *testing.T) {
	if _, err := twoCPUs(); err != nil {
		t.Skip(err)
	}
	check := func(name string, f func() (float64, error)) {
		v, err := f()
		if err != nil || v <= 0 {
			t.Errorf("%s = %v, %v", name, v, err)
		}
	}
	samples := func(s Samples, err error) (float64, error) {
		if err == nil && len(s.Chunks) != 3 {
			return 0, fmt.Errorf("%d chunks, want 3", len(s.Chunks))
		}
		return float64(s.Total()), err
	}
	check("raw", func() (float64, error) { return samples(RawCachelinePingPong(3, 300)) })
	check("twoline", func() (float64, error) { return samples(RawTwoLinePingPong(3, 300)) })
	check("urpc", func() (float64, error) { return samples(URPCPingPong(3, 300)) })
	check("rawstream", func() (float64, error) { return samples(RawStream(3, 3000)) })
	for _, b := range []int{1, 8, 32} {
		check("urpcstream", func() (float64, error) { return samples(URPCStream(3, 3000, b)) })
	}
	check("gochan", func() (float64, error) { return float64(GoChanPingPong(1000)), nil })
}
