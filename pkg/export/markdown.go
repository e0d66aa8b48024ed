package export

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"

	"github.com/llmbench/kubectl-llmbench/templates"
)

// Report files.
const (
	markdownFile = "report.md"
	ChartsDir    = "charts"
)

var markdownTemplate = sync.OnceValues(func() (*template.Template, error) {
	return template.New("report.md.tmpl").Funcs(template.FuncMap{"add": func(a, b int) int { return a + b }}).
		ParseFS(templates.FS, "report.md.tmpl")
})

// WriteMarkdown writes dir/report.md and its charts as dir/charts/*.png,
// referenced relatively so the folder can be moved or zipped whole. The
// same run always gives the same bytes.
func WriteMarkdown(dir string, run *Run) error {
	// A chart that failed is reported after the report is written
	// without it.
	charts, chartErr := runCharts(run)
	if err := writeMarkdown(dir, run, charts); err != nil {
		return err
	}
	return chartErr
}

func writeMarkdown(dir string, run *Run, charts []chart) error {
	md, err := renderMarkdown(run, charts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, ChartsDir), 0o755); err != nil {
		return fmt.Errorf("creating the charts folder: %w", err)
	}
	for _, c := range charts {
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(c.File())), c.PNG); err != nil {
			return err
		}
	}
	return writeFileAtomic(filepath.Join(dir, markdownFile), md)
}

// renderMarkdown is report.md's text; report.html is rendered from it.
func renderMarkdown(run *Run, charts []chart) ([]byte, error) {
	t, err := markdownTemplate()
	if err != nil {
		return nil, fmt.Errorf("parsing the embedded report template: %w", err)
	}
	defs, err := definitions()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, buildView(run, charts, defs)); err != nil {
		return nil, fmt.Errorf("rendering report.md: %w", err)
	}
	return b.Bytes(), nil
}

// definitions is docs/metrics.md (embedded as templates/metrics.md),
// moved under the report's own heading: its title goes, its sections
// become subsections, and the pointer to the research notes, which a
// report reader does not have, is dropped.
func definitions() (string, error) {
	b, err := templates.FS.ReadFile("metrics.md")
	if err != nil {
		return "", fmt.Errorf("reading the embedded metric definitions: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "# "), strings.HasPrefix(line, "Sources: "):
			continue
		case strings.HasPrefix(line, "#"):
			line = "#" + line
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n")), nil
}

// writeFileAtomic writes through a temporary file and a rename, so a
// reader never sees half a report.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
