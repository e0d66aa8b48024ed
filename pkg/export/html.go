package export

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"path/filepath"
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
// and nothing is loaded from anywhere (no scripts, fonts, stylesheets or
// images), so it opens offline, from a file or an e-mail.
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
	t, err := htmlTemplate()
	if err != nil {
		return nil, fmt.Errorf("parsing the embedded page template: %w", err)
	}
	title := run.Manifest.Config.Benchmark.Name
	if title == "" {
		title = run.Manifest.RunID
	}
	var page bytes.Buffer
	err = t.Execute(&page, map[string]any{
		"Title":       "LLM inference benchmark: " + oneLine(title),
		"ToolVersion": run.Manifest.ToolVersion,
		"RunID":       run.Manifest.RunID,
		"CSS":         template.CSS(css),
		// goldmark escaped every text node and dropped raw HTML; the only
		// markup it emits beyond Markdown's is our own chart SVG.
		"Body": template.HTML(body.String()),
	})
	if err != nil {
		return nil, fmt.Errorf("rendering report.html: %w", err)
	}
	return page.Bytes(), nil
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
	fmt.Fprintf(w, `<span class="chart" id="chart-%s" role="img" aria-label="%s">`, html.EscapeString(c.ID), html.EscapeString(c.Title))
	_, _ = w.Write(c.SVG)
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
