package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDirectionOf(t *testing.T) {
	for unit, want := range map[string]Direction{
		"ns":                          LowerBetter,
		"ns (send + switch + recv)":   LowerBetter,
		"us":                          LowerBetter,
		"µs":                          LowerBetter,
		"ms":                          LowerBetter,
		"cycles":                      LowerBetter,
		"cycles (paper)":              NoDirection,
		"msgs/s":                      HigherBetter,
		"MB/s":                        HigherBetter,
		"req/s":                       HigherBetter,
		"x (target >= 5)":             HigherBetter,
		"× (target >= 0.5)":           HigherBetter,
		"x (target <= 1.05)":          LowerBetter,
		"x":                           NoDirection,
		"x (medians)":                 NoDirection,
		"x (paper)":                   NoDirection,
		"%":                           NoDirection,
		"KiB":                         NoDirection,
		"intervals (target 0)":        NoDirection,
		"retries":                     NoDirection,
		"":                            NoDirection,
		"nsx":                         NoDirection,
		"s":                           LowerBetter,
		"x (the floor for a ring ..)": NoDirection,
	} {
		if got := DirectionOf(unit); got != want {
			t.Errorf("DirectionOf(%q) = %v, want %v", unit, got, want)
		}
	}
}

// TestCompareVerdicts: a speed row is worse or better only when the rounds
// of the two sides do not overlap and the medians differ by more than
// minChange and twice the noise; rows without a direction get no verdict.
func TestCompareVerdicts(t *testing.T) {
	rounds := func(unit string, vs ...float64) [][]Row {
		var out [][]Row
		for _, v := range vs {
			out = append(out, []Row{{Name: "r", Value: v, Unit: unit}})
		}
		return out
	}
	for _, c := range []struct {
		name     string
		unit     string
		old, new []float64
		want     string
	}{
		{"slower", "ns", []float64{100, 102}, []float64{110, 112}, Worse},
		{"faster", "ns", []float64{100, 102}, []float64{80, 85}, Better},
		{"overlapping rounds", "ns", []float64{100, 120}, []float64{110, 130}, Same},
		{"apart but within minChange", "ns", []float64{100, 100.5}, []float64{102, 102.5}, Same},
		{"apart but within twice the noise", "ns", []float64{100, 104}, []float64{105, 109}, Same},
		{"rate down", "msgs/s", []float64{1000, 1010}, []float64{900, 910}, Worse},
		{"rate up", "msgs/s", []float64{1000, 1010}, []float64{1200, 1300}, Better},
		{"target ratio down", "x (target >= 20)", []float64{25, 26}, []float64{20, 21}, Worse},
		{"target ratio down, lower is better", "x (target <= 2)", []float64{1.5, 1.6}, []float64{1.2, 1.3}, Better},
		{"plain ratio", "x", []float64{1, 1}, []float64{2, 2}, NoSpeed},
		{"zero old", "ns", []float64{0, 0}, []float64{5, 5}, Same},
		{"three rounds, one stall", "ns", []float64{100, 101, 300}, []float64{110, 111, 112}, Same},
	} {
		cs := Compare(rounds(c.unit, c.old...), rounds(c.unit, c.new...))
		if len(cs) != 1 {
			t.Fatalf("%s: %d comparisons, want 1", c.name, len(cs))
		}
		if cs[0].Verdict != c.want {
			t.Errorf("%s: old %v new %v (%s): verdict %q, want %q", c.name, c.old, c.new, c.unit, cs[0].Verdict, c.want)
		}
	}
}

// TestCompareCanned reads the canned rounds of testdata/benchcmp: each
// row's medians, ratio and verdict, the rows only one side has, and the
// order (the new build's).
func TestCompareCanned(t *testing.T) {
	rounds, err := readRounds(filepath.Join("testdata", "benchcmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != 2 {
		t.Fatalf("suites %v, want ipc and urpc", rounds)
	}
	ipc := rounds["ipc"]
	cs := Compare(ipc[0], ipc[1])
	type want struct {
		old, new float64
		verdict  string
	}
	wants := map[string]want{
		"sip_pingpong_same_core_ns":        {410, 490, Worse},
		"sip_pingpong_cross_core_ns":       {1050, 1020, Same},
		"linux_pipe_pingpong_same_ns":      {5100, 5125, Same},
		"pipe_same_over_sip_same":          {12.45, 10.45, Worse},
		"payload_8_over_empty_same_median": {1.15, 1.45, NoSpeed},
		"block_send_4k_ns":                 {305, 205, Better},
		"new_only_ns":                      {math.NaN(), 9, OnlyNew},
		"old_only_ns":                      {7, math.NaN(), OnlyOld},
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
		w, ok := wants[c.Name]
		if !ok {
			t.Errorf("unexpected row %s", c.Name)
			continue
		}
		near := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-9 }
		if !near(c.OldMid, w.old) || !near(c.NewMid, w.new) || c.Verdict != w.verdict {
			t.Errorf("%s: old %v new %v %q, want %v %v %q", c.Name, c.OldMid, c.NewMid, c.Verdict, w.old, w.new, w.verdict)
		}
	}
	order := "sip_pingpong_same_core_ns sip_pingpong_cross_core_ns linux_pipe_pingpong_same_ns pipe_same_over_sip_same payload_8_over_empty_same_median block_send_4k_ns new_only_ns old_only_ns"
	if got := strings.Join(names, " "); got != order {
		t.Errorf("order\n%s\nwant\n%s", got, order)
	}
	if r := cs[0].Ratio(); math.Abs(r-490.0/410) > 1e-9 {
		t.Errorf("ratio %v, want %v", r, 490.0/410)
	}
}

// TestCompareMain: the command's table, its list of rows worse beyond
// noise and its exit status.
func TestCompareMain(t *testing.T) {
	var out, errs bytes.Buffer
	if code := CompareMain([]string{filepath.Join("testdata", "benchcmp")}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1 (rows got worse); stderr %s", code, errs.String())
	}
	o := out.String()
	for _, want := range []string{
		"ipc (2 rounds each):", "urpc (2 rounds each):",
		"worse beyond noise: ipc/sip_pingpong_same_core_ns, ipc/pipe_same_over_sip_same, urpc/urpc_oneway_ns, urpc/urpc_batch_32_msgs_per_s\n",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	if !regexpLine(o, `block_send_4k_ns\s+305\s+205\s+0\.672\s+4\.9%\s+ns\s+better`) {
		t.Errorf("no row block_send_4k_ns 305 205 0.672 ns better:\n%s", o)
	}
	if !regexpLine(o, `new_only_ns\s+-\s+9\s+-\s+-\s+ns\s+new`) {
		t.Errorf("no row for new_only_ns:\n%s", o)
	}

	// Only rows no worse: exit 0.
	dir := t.TempDir()
	for _, f := range []string{"urpc.old.1.json", "urpc.old.2.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "benchcmp", f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
		os.WriteFile(filepath.Join(dir, strings.Replace(f, "old", "new", 1)), b, 0o644)
	}
	out.Reset()
	if code := CompareMain([]string{dir}, &out, &errs); code != 0 || !strings.Contains(out.String(), "no speed row worse beyond noise") {
		t.Errorf("same rounds: exit %d, output %s", code, out.String())
	}

	// One round a side is not a comparison; no directory is a usage error.
	os.Remove(filepath.Join(dir, "urpc.new.2.json"))
	errs.Reset()
	if code := CompareMain([]string{dir}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "1 new rounds; want at least 2") {
		t.Errorf("one round: exit %d, stderr %s", code, errs.String())
	}
	os.WriteFile(filepath.Join(dir, "urpc.new.2.json"), []byte(`{"not": "rows"}`), 0o644)
	errs.Reset()
	if code := CompareMain([]string{dir}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "urpc.new.2.json") {
		t.Errorf("bad JSON: exit %d, stderr %s", code, errs.String())
	}
	if code := CompareMain(nil, &out, &errs); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
}

// regexpLine reports whether a line of s matches expr.
func regexpLine(s, expr string) bool {
	re := regexp.MustCompile(expr)
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}
