package export

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure geometry. The PNG is rendered at 150 dpi, sharp in a browser and
// in print; the SVG scales to the page.
const (
	figWidth     = 7.5 * vg.Inch
	rowHeight    = 2.5 * vg.Inch
	legendHeight = 0.32 * vg.Inch
	pngDPI       = 150
)

var (
	inkColor   = color.RGBA{0x22, 0x22, 0x22, 0xFF}
	axisColor  = color.RGBA{0x66, 0x66, 0x66, 0xFF}
	gridColor  = color.RGBA{0xE3, 0xE3, 0xE3, 0xFF}
	targetInk  = color.RGBA{0xC0, 0x00, 0x00, 0xFF}
	sansFamily = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// figure is a grid of panels under an optional legend strip naming the
// engines in their colours.
type figure struct {
	panels [][]*plot.Plot // rows × columns; a nil cell stays empty
	legend []string
	colors map[string]color.RGBA
	// rowHeight, when set, replaces the default height of a row.
	rowHeight vg.Length
}

func (f *figure) size() (vg.Length, vg.Length) {
	row := rowHeight
	if f.rowHeight > 0 {
		row = f.rowHeight
	}
	h := vg.Length(len(f.panels)) * row
	if len(f.legend) > 0 {
		h += legendHeight
	}
	return figWidth, h
}

func (f *figure) draw(dc draw.Canvas) {
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	if len(f.legend) > 0 {
		f.drawLegend(draw.Crop(dc, 0, 0, dc.Max.Y-dc.Min.Y-legendHeight, 0))
		dc = draw.Crop(dc, 0, 0, 0, -legendHeight)
	}
	cols := 0
	for _, row := range f.panels {
		cols = max(cols, len(row))
	}
	grid := make([][]*plot.Plot, len(f.panels))
	for i, row := range f.panels {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], row)
	}
	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadX: 0.25 * vg.Inch, PadY: 0.2 * vg.Inch,
		PadTop: 0.05 * vg.Inch, PadBottom: 0.05 * vg.Inch, PadLeft: 0.05 * vg.Inch, PadRight: 0.15 * vg.Inch}
	canvases := plot.Align(grid, tiles, dc)
	for i, row := range grid {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// drawLegend lays the engines out in one centred row: gonum's own legend
// is a column inside a panel, where it would cover data.
func (f *figure) drawLegend(c draw.Canvas) {
	sty := textStyle(9.5, stdfont.WeightNormal)
	sty.YAlign = draw.YCenter
	const swatch, gap, spacing vg.Length = 8, 4, 16
	var total vg.Length
	names := make([]string, len(f.legend))
	for i, e := range f.legend {
		names[i] = chartLabel(e)
		total += swatch + gap + sty.Width(names[i]) + spacing
	}
	x := c.Center().X - (total-spacing)/2
	y := c.Center().Y
	for i, e := range f.legend {
		c.FillPolygon(f.colors[e], []vg.Point{{X: x, Y: y - swatch/2}, {X: x + swatch, Y: y - swatch/2},
			{X: x + swatch, Y: y + swatch/2}, {X: x, Y: y + swatch/2}})
		x += swatch + gap
		c.FillText(sty, vg.Point{X: x, Y: y}, names[i])
		x += sty.Width(names[i]) + spacing
	}
}

// render draws the figure twice, as SVG and as PNG. gonum/plot panics on
// some degenerate inputs; that becomes an error, not a crashed report.
func (f *figure) render() (svg, png []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gonum/plot: %v", r)
		}
	}()
	w, h := f.size()
	sc := vgsvg.New(w, h)
	f.draw(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, err
	}
	ic := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))
	f.draw(draw.New(ic))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return nil, nil, err
	}
	return inlineSVG(sb.Bytes()), pb.Bytes(), nil
}

// inlineSVG makes gonum's SVG document fit inside an HTML page: the XML
// prolog and comment go, and the font gets fallbacks, because Liberation
// Sans (whose metrics laid the text out) is not installed everywhere;
// Arial has the same metrics.
func inlineSVG(b []byte) []byte {
	s := string(b)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return []byte(s)
}

func textStyle(size vg.Length, weight stdfont.Weight) text.Style {
	return restyle(text.Style{Handler: plot.DefaultTextHandler}, size, weight)
}

// restyle changes a text style's font and colour and keeps its alignment,
// which gonum sets differently for each axis and the title.
func restyle(s text.Style, size vg.Length, weight stdfont.Weight) text.Style {
	f := sansFamily
	f.Weight = weight
	s.Font = font.From(f, size)
	s.Color = inkColor
	return s
}

// newPanel is a plot in the house style: sans-serif, light horizontal
// grid, grey axes, tick labels without trailing zeros.
func newPanel(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle = restyle(p.Title.TextStyle, 10, stdfont.WeightBold)
	p.Title.Padding = 6
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle = restyle(ax.Label.TextStyle, 9, stdfont.WeightNormal)
		ax.Tick.Label = restyle(ax.Tick.Label, 8, stdfont.WeightNormal)
		ax.LineStyle.Color = axisColor
		ax.Tick.LineStyle.Color = axisColor
		ax.Tick.Marker = plainTicks{}
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = gridColor
	p.Add(grid)
	return p
}

// plainTicks labels gonum's default ticks as 25 rather than 25.00.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ticks
}

// chartLabel keeps a long engine or scenario name from crowding a chart;
// the report's tables show it whole.
func chartLabel(s string) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) > 28 {
		return string(r[:27]) + "…"
	}
	return string(r)
}

// panelWidth estimates the data width of one panel of a figure with cols
// columns, to size bars and boxes.
func panelWidth(cols int) vg.Length {
	return (figWidth-0.5*vg.Inch)/vg.Length(cols) - 0.55*vg.Inch
}

// nominalX names categories along x, tilting the labels when they would
// run into each other in a panel this narrow.
func nominalX(p *plot.Plot, cols int, labels ...string) {
	p.NominalX(labels...)
	var widest vg.Length
	for _, l := range labels {
		widest = max(widest, p.X.Tick.Label.Width(l))
	}
	if widest+6 > panelWidth(cols)/vg.Length(len(labels)) {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
}

// wrap lays panels out in rows of at most cols.
func wrap(panels []*plot.Plot, cols int) [][]*plot.Plot {
	var rows [][]*plot.Plot
	for i := 0; i < len(panels); i += cols {
		rows = append(rows, panels[i:min(i+cols, len(panels))])
	}
	return rows
}

func withAlpha(c color.RGBA, a uint8) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, a} }

// addEngineLine draws one engine's series: a line through dots in its
// colour, as every curve of the reports is drawn.
func addEngineLine(p *plot.Plot, xys plotter.XYs, col color.Color) error {
	line, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	line.Color, line.Width = col, 1.5
	pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 2.5, Shape: draw.CircleGlyph{}}
	p.Add(line, pts)
	return nil
}
