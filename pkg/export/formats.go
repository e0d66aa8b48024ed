package export

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is one output a run folder can hold, written from a loaded Run.
type Format struct {
	Name  string
	Help  string
	Write func(dir string, run *Run) error
}

// Formats lists every output, in the order they are written. Reports come
// after the data files so a failing report never costs the data.
var Formats = []Format{
	{Name: "json", Help: "summary.json", Write: writeSummaryJSON},
	{Name: "parquet", Help: "requests.parquet, chunks.parquet and summary.parquet", Write: WriteParquet},
	{Name: "csv", Help: "requests.csv and summary.csv", Write: WriteCSV},
	{Name: "md", Help: "report.md and its charts/", Write: WriteMarkdown},
	{Name: "html", Help: "report.html (self-contained)", Write: WriteHTML},
	{Name: "pdf", Help: "report.pdf", Write: writePDF},
}

// FormatNames is the list for flag help and errors.
func FormatNames() []string {
	var names []string
	for _, f := range Formats {
		names = append(names, f.Name)
	}
	return names
}

// SelectFormats resolves names ("all" for every format).
func SelectFormats(names []string) ([]Format, error) {
	var out []Format
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "all" {
			return Formats, nil
		}
		found := false
		for _, f := range Formats {
			if f.Name == n {
				found = true
				if !seen[n] {
					out = append(out, f)
					seen[n] = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown format %q: use %s or all", n, strings.Join(FormatNames(), ", "))
		}
	}
	return out, nil
}

// WriteFormats writes each format into dir, continuing past a failure so
// one broken report does not cost the others; it returns every error.
func WriteFormats(dir string, run *Run, formats []Format) error {
	var errs []string
	for _, f := range formats {
		if err := f.Write(dir, run); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", f.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("writing reports: %s", strings.Join(errs, "; "))
	}
	return nil
}

func writeSummaryJSON(dir string, run *Run) error {
	if run.Baseline != nil {
		if err := WriteJSON(filepath.Join(dir, ComparisonFile), run.Baseline); err != nil {
			return err
		}
	}
	return WriteJSON(filepath.Join(dir, SummaryFile), run.Summary)
}

// ComparisonFile holds the comparison with a --baseline run.
const ComparisonFile = "comparison.json"
