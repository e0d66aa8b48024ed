package export

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// radar is the ranking's components per engine: one spoke per component,
// each engine's scores (1 = the best engine of the headline scenario) as
// a polygon.
type radar struct {
	axes    []verdict.Component // names, units and weights
	engines []string
	scores  [][]verdict.Component // per engine, per axis
}

// newRadar reads the ranking; engines without a score (they answered
// nothing) have no polygon. Fewer than three components draw no radar.
func newRadar(d *chartData) *radar {
	var r radar
	for _, st := range d.ranking {
		if len(st.Components) >= 3 && st.Unranked == "" {
			r.axes = st.Components
			break
		}
	}
	if r.axes == nil {
		return nil
	}
	for _, e := range d.engines {
		for _, st := range d.ranking {
			if st.Engine == e && st.Unranked == "" && len(st.Components) == len(r.axes) {
				r.engines = append(r.engines, e)
				r.scores = append(r.scores, st.Components)
			}
		}
	}
	if len(r.engines) == 0 {
		return nil
	}
	return &r
}

// spoke is the unit vector of axis i of n, the first pointing up and the
// others clockwise.
func spoke(i, n int) (x, y float64) {
	a := math.Pi/2 - 2*math.Pi*float64(i)/float64(n)
	return math.Cos(a), math.Sin(a)
}

func componentText(c verdict.Component) string {
	sep := " "
	if c.Unit == "%" || c.Unit == "×" || c.Unit == "" {
		sep = ""
	}
	return fmt.Sprintf("%s: %.4g%s%s (score %.3f, weight %.2f)", c.Name, c.Value, sep, c.Unit, c.Score, c.Weight)
}

// rankingRadarChart draws the radar with gonum for report.md and the PDF,
// and by hand for report.html (radarSVG), where each corner names its
// exact value on hover and the legend hides an engine.
func rankingRadarChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartRankingRadar, Title: "Ranking components",
		Caption: "Each engine's score on every component of the overall ranking, in the headline scenario: 1 (the rim) is the best engine on that component, 0 the centre. The ranking table gives the values and weights."}
	r := newRadar(d)
	if r == nil {
		return nil, c, nil
	}
	c.HTMLSVG = r.svg(d.colors)
	const height = 4 * vg.Inch
	// The data area's width over its height, so that the radar is round.
	aspect := float64((figWidth - 0.5*vg.Inch) / (height - 0.6*vg.Inch))
	p := plot.New()
	p.HideAxes()
	p.X.Min, p.X.Max = -1.45*aspect, 1.45*aspect
	p.Y.Min, p.Y.Max = -1.3, 1.3
	n := len(r.axes)
	for _, ring := range []float64{0.25, 0.5, 0.75, 1} {
		var xys plotter.XYs
		for i := 0; i <= n; i++ {
			x, y := spoke(i%n, n)
			xys = append(xys, plotter.XY{X: ring * x, Y: ring * y})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, c, err
		}
		l.Color, l.Width = gridColor, 1
		p.Add(l)
	}
	labels := plotter.XYLabels{}
	var styles []text.Style
	for i, a := range r.axes {
		x, y := spoke(i, n)
		l, err := plotter.NewLine(plotter.XYs{{}, {X: x, Y: y}})
		if err != nil {
			return nil, c, err
		}
		l.Color, l.Width = gridColor, 1
		p.Add(l)
		labels.XYs = append(labels.XYs, plotter.XY{X: 1.12 * x, Y: 1.12 * y})
		labels.Labels = append(labels.Labels, a.Name)
		sty := textStyle(8.5, stdfont.WeightNormal)
		sty.XAlign, sty.YAlign = radarAlign(x), draw.YCenter
		styles = append(styles, sty)
	}
	for ei, e := range r.engines {
		var xys plotter.XYs
		for i, comp := range r.scores[ei] {
			x, y := spoke(i, n)
			s := math.Max(0, comp.Score)
			xys = append(xys, plotter.XY{X: s * x, Y: s * y})
		}
		poly, err := plotter.NewPolygon(xys)
		if err != nil {
			return nil, c, err
		}
		col := d.colors[e]
		poly.Color = withAlpha(col, 0x30)
		poly.LineStyle = draw.LineStyle{Color: col, Width: 1.8}
		p.Add(poly)
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, c, err
		}
		pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 2.5, Shape: draw.CircleGlyph{}}
		p.Add(pts)
	}
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, c, err
	}
	lab.TextStyle = styles
	p.Add(lab)
	return &figure{panels: [][]*plot.Plot{{p}}, legend: r.engines, colors: d.colors, rowHeight: height}, c, nil
}

// radarAlign anchors a spoke's label away from the radar.
func radarAlign(x float64) text.XAlignment {
	switch {
	case x > 0.2:
		return draw.XLeft
	case x < -0.2:
		return draw.XRight
	}
	return draw.XCenter
}

// svg draws the radar for report.html: each engine is a group
// (data-series, its index among the radar's engines) whose corners hold
// <title>s with the exact value, score and weight, so hovering shows them
// with scripts off too; the legend's keys carry the same index for
// report.js to toggle.
func (r *radar) svg(colors map[string]color.RGBA) []byte {
	const w, h, cx, cy, rad = 720.0, 430.0, 360.0, 195.0, 140.0
	var b bytes.Buffer
	esc := html.EscapeString
	hex := func(c color.RGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="radar" viewBox="0 0 %g %g" width="%g" height="%g" font-family="'Liberation Sans',Arial,Helvetica,sans-serif">`, w, h, w, h)
	b.WriteString(`<rect width="100%" height="100%" fill="#FFFFFF"/>`)
	n := len(r.axes)
	pt := func(i int, s float64) (float64, float64) {
		x, y := spoke(i%n, n)
		return cx + rad*s*x, cy - rad*s*y
	}
	for _, ring := range []float64{0.25, 0.5, 0.75, 1} {
		b.WriteString(`<polygon fill="none" stroke="#E3E3E3" points="`)
		for i := range n {
			x, y := pt(i, ring)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString(`"/>`)
	}
	for i, a := range r.axes {
		x, y := pt(i, 1)
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%.1f" y2="%.1f" stroke="#E3E3E3"/>`, cx, cy, x, y)
		lx, ly := pt(i, 1.12)
		anchor := map[text.XAlignment]string{draw.XLeft: "start", draw.XRight: "end", draw.XCenter: "middle"}[radarAlign((lx-cx)/rad)]
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" fill="#222222" text-anchor="%s" dominant-baseline="middle">%s<title>%s, weight %.2f</title></text>`,
			lx, ly, anchor, esc(a.Name), esc(a.Name), a.Weight)
	}
	for ei, e := range r.engines {
		col := hex(colors[e])
		fmt.Fprintf(&b, `<g class="radar-series" data-series="%d"><title>%s</title><polygon fill="%s" fill-opacity="0.18" stroke="%s" stroke-width="2" points="`, ei, esc(e), col, col)
		for i, comp := range r.scores[ei] {
			x, y := pt(i, math.Max(0, comp.Score))
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		b.WriteString(`"/>`)
		for i, comp := range r.scores[ei] {
			x, y := pt(i, math.Max(0, comp.Score))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s · %s</title></circle>`, x, y, col, esc(e), esc(componentText(comp)))
		}
		b.WriteString(`</g>`)
	}
	// The legend: one row of keys, centred.
	const key = 14.0
	widths := make([]float64, len(r.engines))
	total := 0.0
	for i, e := range r.engines {
		widths[i] = key + 6 + 7.5*float64(len([]rune(chartLabel(e)))) + 22
		total += widths[i]
	}
	x := (w - total) / 2
	for ei, e := range r.engines {
		fmt.Fprintf(&b, `<g class="radar-key" data-series="%d"><rect x="%.1f" y="%g" width="%g" height="%g" fill="%s"/><text x="%.1f" y="%g" font-size="13" fill="#222222" dominant-baseline="middle">%s</text></g>`,
			ei, x, h-32, key, key, hex(colors[e]), x+key+6, h-25, esc(chartLabel(e)))
		x += widths[ei]
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
