package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func writeFixtureHTML(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := writeHTML(dir, reportFixture(), mustFixtureCharts(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The page must open offline, from a file or an e-mail: nothing may be
// fetched, and nothing run but its own two inline scripts.
func TestHTMLIsSelfContained(t *testing.T) {
	page := writeFixtureHTML(t)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(string(page))
	for _, bad := range []string{"<link", "<iframe", "<object", "<embed", "<img", "src=\"http", "href=\"http", "url(", "@import"} {
		if strings.Contains(lower, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	if n := strings.Count(lower, "<script"); n != 3 {
		t.Errorf("report.html has %d <script elements, want the chart data, uPlot and report.js", n)
	}
	svgs, styles := 0, 0
	var scriptIDs []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "svg":
			svgs++
		case "style":
			styles++
		case "script":
			scriptIDs = append(scriptIDs, attr(n, "id"))
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "src", a.Key == "srcset", a.Key == "action", a.Key == "formaction":
				t.Errorf("<%s %s=%q> would load something", n.Data, a.Key, a.Val)
			case a.Key == "href" && !strings.HasPrefix(a.Val, "#"), a.Key == "xlink:href" && !strings.HasPrefix(a.Val, "#"):
				t.Errorf("<%s href=%q> leaves the page", n.Data, a.Val)
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s> is an event handler", n.Data, a.Key)
			}
		}
	}
	if svgs != 9 {
		t.Errorf("found %d inline SVG charts, want 9", svgs)
	}
	if got := strings.Join(scriptIDs, ","); got != "llmbench-chart-data,llmbench-uplot,llmbench-report-js" {
		t.Errorf("the page's scripts are %q", got)
	}
	if styles != 1 {
		t.Errorf("found %d <style> elements, want the embedded stylesheet", styles)
	}
	for _, want := range []string{"Content-Security-Policy", "default-src 'none'", "prefers-color-scheme: dark", "@media print", `id="metric-definitions"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// Hostile text from a model or server appears as text, whole, in the
// table cells and lists, and never as markup.
func TestHTMLShowsUntrustedTextAsText(t *testing.T) {
	page := writeFixtureHTML(t)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var cells, items, links int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		text := textOf(n)
		switch n.Data {
		case "td":
			if text == oneLine(evilModel) {
				cells++
			}
			if text == oneLine(evilError) {
				cells++
			}
		case "li":
			if strings.Contains(text, oneLine(evilError)) {
				items++
			}
		case "a":
			links++
		case "code", "h1":
			if n.Data == "h1" && strings.Contains(text, "not a heading") {
				t.Error("an error message became a heading")
			}
		}
	}
	// The model name in three detail tables and the engines table; the
	// error in two error rows.
	if cells != 6 {
		t.Errorf("found the hostile model name or error whole in %d table cells, want 6", cells)
	}
	if items < 1 {
		t.Error("the unreachable target's hostile error is not listed as text")
	}
	if links != 1 { // the link to the definitions
		t.Errorf("found %d links; hostile text must not create any", links)
	}
	// The command keeps its exact text inside a code block.
	if !strings.Contains(string(page), "&lt;script&gt;alert(1)&lt;/script&gt;|[click](http://evil.example/x)' --preset golden") {
		t.Error("the command is not shown verbatim and escaped")
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	if !bytes.Equal(writeFixtureHTML(t), writeFixtureHTML(t)) {
		t.Error("two renderings of the same run differ")
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
