package bench

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"isle/internal/trace"
)

// The plots of the ipc and sched suites, written as PNGs into the
// directory ISLE_BENCH_PLOTS (default: the working directory; "-" for
// none): ipc-latency.png, the distribution of the ping-pongs' round trips
// beside the pipe's; sched-timeline.png, which spinner ran on which core
// when.
const envPlots = "ISLE_BENCH_PLOTS"

// plotPath returns where the plot called name goes, or "" for none.
func plotPath(name string) string {
	dir := os.Getenv(envPlots)
	if dir == "-" {
		return ""
	}
	return filepath.Join(dir, name)
}

// ipcSeries are the ping-pongs drawn, in order: a measure's name and its
// legend.
func ipcSeries() [][2]string {
	return [][2]string{
		{"sip_pingpong_same_core_ns", "SIPs, one core"},
		{"linux_pipe_pingpong_same_ns", "Linux pipe, one CPU"},
		{"sip_pingpong_cross_core_ns", "SIPs, two cores"},
		{"sip_pingpong_cross_core_traced_ns", "SIPs, two cores, traced"},
		{"linux_pipe_pingpong_cross_ns", "Linux pipe, two CPUs"},
	}
}

// ipcPlot draws the cumulative distribution of each ping-pong's round trip
// (batches of pingpongBatch rounds) on a log scale.
func ipcPlot(log io.Writer, dist map[string][]float64) error {
	path := plotPath("ipc-latency.png")
	if path == "" {
		return nil
	}
	p := plot.New()
	p.Title.Text = "isle bench ipc: round trips (batches of 16), CDF"
	p.X.Label.Text = "ns per round trip (log scale)"
	p.Y.Label.Text = "fraction of batches"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = false // bottom right: where no line is
	p.Legend.Left = false
	p.Y.Min, p.Y.Max = 0, 1
	for i, s := range ipcSeries() {
		ps := dist[s[0]]
		if len(ps) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(ps))
		for k, v := range ps {
			pts[k].X, pts[k].Y = max(v, 1), float64(k)/float64(len(ps)-1)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s[1], l)
	}
	p.Add(plotter.NewGrid())
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, path); err != nil {
		return err
	}
	fmt.Fprintf(log, "ipc: plot written to %s\n", path)
	return nil
}

// span is one SIP's run on a core.
type span struct {
	core       int
	pid        int64
	start, end int64
}

// runSpans turns a decoded trace's switches into runs: from a SIP's switch
// in to its switch out on the same core.
func runSpans(d *trace.Decoded) []span {
	var out []span
	open := map[int]span{}
	for _, r := range d.Records {
		if r.Kind != "sched_switch" {
			continue
		}
		if s, ok := open[r.CPU]; ok && r.PrevPID == s.pid && r.PrevPID != 0 {
			s.end = r.Time
			out = append(out, s)
			delete(open, r.CPU)
		}
		if r.NextPID != 0 {
			open[r.CPU] = span{core: r.CPU, pid: r.NextPID, start: r.Time}
		}
	}
	return out
}

// timeline is a plotter of spans: one row per core, a bar per run,
// coloured by SIP.
type timeline struct {
	spans  []span
	colour map[int64]color.Color
	t0     int64
}

func (tl timeline) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, s := range tl.spans {
		x0, x1 := tx(float64(s.start-tl.t0)/1e6), tx(float64(s.end-tl.t0)/1e6)
		y0, y1 := ty(float64(s.core)-0.35), ty(float64(s.core)+0.35)
		c.FillPolygon(tl.colour[s.pid], []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	}
}

func (tl timeline) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmax = 0
	cores := 0
	for _, s := range tl.spans {
		xmax = max(xmax, float64(s.end-tl.t0)/1e6)
		cores = max(cores, s.core+1)
	}
	return 0, xmax, -0.5, float64(cores) - 0.5
}

// timelinePlot draws which SIP ran on which core when, from a trace.
func timelinePlot(log io.Writer, d *trace.Decoded, title string, names map[int64]string) error {
	path := plotPath("sched-timeline.png")
	if path == "" {
		return nil
	}
	spans := runSpans(d)
	if len(spans) == 0 {
		return fmt.Errorf("timeline: the trace has no runs")
	}
	tl := timeline{spans: spans, colour: map[int64]color.Color{}, t0: spans[0].start}
	var pids []int64
	for _, s := range spans {
		tl.t0 = min(tl.t0, s.start)
		if _, ok := tl.colour[s.pid]; !ok {
			pids = append(pids, s.pid)
			tl.colour[s.pid] = color.Black
		}
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "ms"
	p.Y.Label.Text = "core"
	p.Add(tl)
	// The legend goes right of the bars, not over them.
	lg := plot.NewLegend()
	lg.Top = true
	cores := 0
	for _, s := range spans {
		cores = max(cores, s.core+1)
	}
	var ticks []plot.Tick
	for c := range cores {
		ticks = append(ticks, plot.Tick{Value: float64(c), Label: fmt.Sprint(c)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	for i, pid := range pids {
		tl.colour[pid] = plotutil.Color(i)
		box, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: 0}})
		if err != nil {
			return err
		}
		box.Color = plotutil.Color(i)
		box.LineStyle.Width = 0
		name := names[pid]
		if name == "" {
			name = fmt.Sprintf("pid %d", pid)
		}
		lg.Add(name, box)
	}
	img := vgimg.New(20*vg.Centimeter, vg.Length(4+1.2*float64(cores))*vg.Centimeter)
	dc := draw.New(img)
	legendWidth := 3.5 * vg.Centimeter
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	lg.Draw(draw.Crop(dc, 20*vg.Centimeter-legendWidth, 0, 0, 0))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(log, "sched: plot written to %s\n", path)
	return nil
}
