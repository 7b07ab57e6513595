package bench

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
)

// A small SVG line chart, written by hand so that the isle binary links no
// plotting library: gonum/plot parsed its font tables when each isle
// process started (`isle run` too), a few per cent of a small program's run
// (docs/startup.md).

// series is one line of a chart: y values at x = 1, 2, ...
type series struct {
	name string
	ys   []float64
}

// chart is one panel.
type chart struct {
	title, xLabel, yLabel string
	lines                 []series
}

// Geometry of a panel, in SVG user units (px).
const (
	svgWidth   = 640
	svgPanelH  = 400
	svgMarginL = 70
	svgMarginR = 20
	svgMarginT = 40
	svgMarginB = 50
)

// writeSVG draws the charts one above the other into path.
func writeSVG(path string, charts []chart) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, svgPanelH*len(charts))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, c := range charts {
		c.draw(&b, float64(i*svgPanelH))
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func (c chart) draw(b *strings.Builder, top float64) {
	colors := [...]string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}
	n, ymax := 0, 0.0
	for _, l := range c.lines {
		n = max(n, len(l.ys))
		for _, y := range l.ys {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				ymax = max(ymax, y)
			}
		}
	}
	if ymax <= 0 {
		ymax = 1
	}
	x0, x1 := float64(svgMarginL), float64(svgWidth-svgMarginR)
	y0, y1 := top+svgPanelH-svgMarginB, top+svgMarginT
	px := func(x float64) float64 { return x0 + (x-0.5)/float64(n)*(x1-x0) }
	py := func(y float64) float64 { return y0 - y/ymax*(y0-y1) }
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" font-size="14">%s</text>`+"\n", (x0+x1)/2, top+22, html.EscapeString(c.title))
	fmt.Fprintf(b, `<path d="M%g %gV%gH%g" fill="none" stroke="black"/>`+"\n", x0, y1, y0, x1)
	for x := 1; x <= n; x++ {
		fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%d</text>`+"\n", px(float64(x)), y0+16, x)
	}
	for k := 0; k <= 4; k++ {
		y := ymax * float64(k) / 4
		fmt.Fprintf(b, `<path d="M%g %gH%g" stroke="#ddd"/><text x="%g" y="%g" text-anchor="end">%.3g</text>`+"\n", x0, py(y), x1, x0-6, py(y)+4, y)
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y0+36, html.EscapeString(c.xLabel))
	fmt.Fprintf(b, `<text transform="translate(%g %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", x0-50, (y0+y1)/2, html.EscapeString(c.yLabel))
	for i, l := range c.lines {
		color := colors[i%len(colors)]
		var d strings.Builder
		for j, y := range l.ys {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", cmd, px(float64(j+1)), py(y))
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(float64(j+1)), py(y), color)
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", d.String(), color)
		ly := y1 + 6 + float64(i)*16
		fmt.Fprintf(b, `<path d="M%g %gh20" stroke="%s" stroke-width="2"/><text x="%g" y="%g">%s</text>`+"\n", x0+10, ly, color, x0+36, ly+4, html.EscapeString(l.name))
	}
}
