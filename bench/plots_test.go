package bench

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/trace"
)

// readPNG decodes a plot and counts its colours that are neither white nor
// grey: the lines or bars drawn.
func readPNG(t *testing.T, path string) (image.Image, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	colours := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r == g && g == bl {
				continue
			}
			colours[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0}] = true
		}
	}
	return img, len(colours)
}

func TestIPCPlot(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envPlots, dir)
	dist := map[string][]float64{}
	for i, s := range ipcSeries() {
		ps := make([]float64, percentiles)
		for k := range ps {
			ps[k] = float64(500*(i+1) + 10*k)
		}
		dist[s[0]] = ps
	}
	if err := ipcPlot(io.Discard, dist); err != nil {
		t.Fatal(err)
	}
	if _, n := readPNG(t, filepath.Join(dir, "ipc-latency.png")); n < len(ipcSeries()) {
		t.Errorf("the plot has %d colours, want a line for each of %d ping-pongs", n, len(ipcSeries()))
	}
	t.Setenv(envPlots, "-")
	if err := ipcPlot(io.Discard, dist); err != nil || plotPath("x.png") != "" {
		t.Errorf(`ISLE_BENCH_PLOTS=-: %v, path %q`, err, plotPath("x.png"))
	}
}

func TestRunSpans(t *testing.T) {
	d := &trace.Decoded{Records: []trace.Record{
		{CPU: 0, Time: 10, Kind: "sched_switch", PrevPID: 0, NextPID: 1},
		{CPU: 1, Time: 15, Kind: "sched_switch", PrevPID: 0, NextPID: 2},
		{CPU: 0, Time: 30, Kind: "sched_switch", PrevPID: 1, NextPID: 0},
		{CPU: 0, Time: 31, Kind: "sched_wakeup", WakePID: 2},
		{CPU: 1, Time: 40, Kind: "sched_switch", PrevPID: 2, NextPID: 0},
		{CPU: 0, Time: 45, Kind: "sched_switch", PrevPID: 0, NextPID: 2},
		{CPU: 0, Time: 50, Kind: "sched_switch", PrevPID: 2, NextPID: 0},
	}}
	got := runSpans(d)
	want := []span{{0, 1, 10, 30}, {1, 2, 15, 40}, {0, 2, 45, 50}}
	if len(got) != len(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSpinnersTimeline runs the demo's spinners traced and draws them: a
// bar colour for each spinner, none of them wasting a core.
func TestSpinnersTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/spin and spins for 300 ms")
	}
	dir := t.TempDir()
	t.Setenv(envPlots, dir)
	if _, err := spinnersTimeline(context.Background(), t.TempDir(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, n := readPNG(t, filepath.Join(dir, "sched-timeline.png")); n < demoSpinners {
		t.Errorf("the timeline has %d colours, want one for each of %d spinners", n, demoSpinners)
	}
}
