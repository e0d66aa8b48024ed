package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"path/filepath"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/llmbench/kubectl-llmbench/templates"
)

// HTMLFile is the self-contained report page.
const HTMLFile = "report.html"

var htmlTemplate = sync.OnceValues(func() (*template.Template, error) {
	return template.ParseFS(templates.FS, "report.html.tmpl")
})

// WriteHTML writes dir/report.html: report.md rendered by goldmark into one
// self-contained page. Charts are inline SVG, the stylesheet is embedded,
// and nothing is loaded from anywhere (no fonts, stylesheets, images or
// script files), so it opens offline, from a file or an e-mail. Where
// scripts run, the embedded uPlot and report.js draw interactive charts
// in place of some SVGs (chart_interactive.go); the page's CSP lets no
// other script run.
func WriteHTML(dir string, run *Run) error {
	// A chart that failed is reported after the report is written
	// without it.
	charts, chartErr := runCharts(run)
	if err := writeHTML(dir, run, charts); err != nil {
		return err
	}
	return chartErr
}

func writeHTML(dir string, run *Run, charts []chart) error {
	page, err := renderHTML(run, charts)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, HTMLFile), page)
}

func renderHTML(run *Run, charts []chart) ([]byte, error) {
	md, err := renderMarkdown(run, charts)
	if err != nil {
		return nil, err
	}
	byFile := map[string]chart{}
	for _, c := range charts {
		byFile[c.File()] = c
	}
	// No html.WithUnsafe: raw HTML in the Markdown is dropped, a second
	// line of defence behind mdEscape. No Linkify either: a URL in an
	// error message stays text.
	gm := goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(inlineCharts(byFile), 100))),
	)
	var body bytes.Buffer
	if err := gm.Convert(md, &body); err != nil {
		return nil, fmt.Errorf("rendering report.md as HTML: %w", err)
	}
	css, err := templates.FS.ReadFile("report.css")
	if err != nil {
		return nil, fmt.Errorf("reading the embedded stylesheet: %w", err)
	}
	scripts, err := pageScripts(run, charts)
	if err != nil {
		return nil, err
	}
	if scripts != nil {
		css = append(append(css, '\n'), scripts.css...)
	}
	t, err := htmlTemplate()
	if err != nil {
		return nil, fmt.Errorf("parsing the embedded page template: %w", err)
	}
	title := run.Manifest.Config.Benchmark.Name
	if title == "" {
		title = run.Manifest.RunID
	}
	view := map[string]any{
		"Title":       "LLM inference benchmark: " + oneLine(title),
		"ToolVersion": run.Manifest.ToolVersion,
		"RunID":       run.Manifest.RunID,
		"CSS":         template.CSS(css),
		// goldmark escaped every text node and dropped raw HTML; the only
		// markup it emits beyond Markdown's is our own chart SVG.
		"Body": template.HTML(body.String()),
	}
	if scripts != nil {
		// Inside <script> html/template writes template.JS verbatim: the
		// bytes hashed are the bytes the browser hashes.
		view["ScriptSrc"] = scriptSources(scripts.uplot, scripts.report)
		view["UPlotVersion"] = uplotVersion
		view["ChartData"] = template.JS(scripts.data)
		view["UPlotJS"] = template.JS(scripts.uplot)
		view["ReportJS"] = template.JS(scripts.report)
	}
	var page bytes.Buffer
	err = t.Execute(&page, view)
	if err != nil {
		return nil, fmt.Errorf("rendering report.html: %w", err)
	}
	return page.Bytes(), nil
}

// uplotVersion is the uPlot in templates/vendor/uplot (make vendor-uplot).
const uplotVersion = "1.6.32"

// scripts are what report.html embeds for its interactive charts.
type scripts struct {
	uplot, report, css, data []byte
}

// pageScripts reads the embedded scripts and encodes the run's chart data,
// or returns nil when the page has no chart to make interactive.
func pageScripts(run *Run, charts []chart) (*scripts, error) {
	has := false
	for _, c := range charts {
		has = has || interactiveKind[c.ID] != ""
	}
	if !has {
		return nil, nil
	}
	// A failure to read the records is the charts' error, reported by
	// the writers; the data then holds what was read.
	d, _ := runInteractive(run)
	var s scripts
	var err error
	if s.data, err = json.Marshal(d); err != nil {
		return nil, fmt.Errorf("encoding the chart data: %w", err)
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{"vendor/uplot/uPlot.iife.min.js", &s.uplot}, {"report.js", &s.report}, {"vendor/uplot/uPlot.min.css", &s.css}} {
		if *f.dst, err = templates.FS.ReadFile(f.name); err != nil {
			return nil, fmt.Errorf("reading the embedded %s: %w", f.name, err)
		}
	}
	// encoding/json escapes <, > and &, so the data cannot close its
	// element; the scripts are ours, but a refresh of uPlot could bring
	// either sequence, which would end or comment out the element.
	for _, b := range [][]byte{s.uplot, s.report, s.data} {
		if l := bytes.ToLower(b); bytes.Contains(l, []byte("</script")) || bytes.Contains(l, []byte("<!--")) {
			return nil, fmt.Errorf("an embedded script contains </script or <!--: it cannot be inlined")
		}
	}
	return &s, nil
}

// scriptSources is the CSP script-src allowing exactly these inline
// scripts, by the sha256 of their text.
func scriptSources(js ...[]byte) string {
	var out []string
	for _, b := range js {
		sum := sha256.Sum256(b)
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return strings.Join(out, " ")
}

// inlineCharts renders the Markdown image of a chart PNG as that chart's
// inline SVG. Any other image becomes its alt text: the page never
// references a file or URL.
type inlineCharts map[string]chart

func (r inlineCharts) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindImage, r.renderImage)
}

func (r inlineCharts) renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	img := node.(*ast.Image)
	c, ok := r[string(img.Destination)]
	if !ok {
		_, _ = w.WriteString(html.EscapeString(string(nodeText(img, source))))
		return ast.WalkSkipChildren, nil
	}
	live := ""
	if k := interactiveKind[c.ID]; k != "" {
		live = ` data-interactive="` + k + `"`
	}
	fmt.Fprintf(w, `<span class="chart" id="chart-%s" role="img" aria-label="%s"%s>`, html.EscapeString(c.ID), html.EscapeString(c.Title), live)
	svg := c.SVG
	if c.HTMLSVG != nil {
		svg = c.HTMLSVG
	}
	_, _ = w.Write(svg)
	_, _ = w.WriteString("</span>")
	return ast.WalkSkipChildren, nil
}

// nodeText is the plain text under a node (an image's alt text).
func nodeText(n ast.Node, source []byte) []byte {
	var b bytes.Buffer
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			b.Write(t.Segment.Value(source))
		} else {
			b.Write(nodeText(c, source))
		}
	}
	return b.Bytes()
}
