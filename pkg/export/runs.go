package export

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// runFolderName is what `run` creates: test_{name}_{YYYYMMDD}_{HHMMSS}[_n].
var runFolderName = regexp.MustCompile(`^test_[a-z0-9_-]+_\d{8}_\d{6}(_\d+)?$`)

// RunInfo is one stored run, as `results` lists it.
type RunInfo struct {
	ID        string
	Dir       string
	StartedAt time.Time
	Status    string
	Engines   []string
	Requests  int
	Succeeded int
	// Winner is the engine that leads most "fastest" comparisons.
	Winner string
}

// IsRunFolder reports whether dir is a run folder: the name `run` gives,
// a journal, and a manifest written by this tool for this very folder.
// Cleanup relies on it never matching anything else.
func IsRunFolder(dir string) bool {
	base := filepath.Base(dir)
	if !runFolderName.MatchString(base) {
		return false
	}
	if st, err := os.Stat(filepath.Join(dir, JournalFile)); err != nil || !st.Mode().IsRegular() {
		return false
	}
	var m Manifest
	if err := readJSONFile(filepath.Join(dir, ManifestFile), &m); err != nil {
		return false
	}
	return m.Tool == "kubectl-llmbench" && m.RunID == base
}

// ListRuns reads the run folders under outputDir, newest first. Folders
// that are not runs are ignored; a run whose summary is missing (killed
// before the end) is listed from its manifest.
func ListRuns(outputDir string) ([]RunInfo, error) {
	entries, err := os.ReadDir(outputDir)
	if err != nil {
		return nil, fmt.Errorf("reading --output-dir %s: %w", outputDir, err)
	}
	var runs []RunInfo
	for _, e := range entries {
		dir := filepath.Join(outputDir, e.Name())
		if !e.IsDir() || !IsRunFolder(dir) {
			continue
		}
		var m Manifest
		if err := readJSONFile(filepath.Join(dir, ManifestFile), &m); err != nil {
			continue
		}
		info := RunInfo{ID: e.Name(), Dir: dir, Status: m.Status}
		info.StartedAt, _ = time.Parse(time.RFC3339Nano, m.StartedAt)
		for _, t := range m.Targets {
			info.Engines = append(info.Engines, t.Target.Name)
		}
		var s verdict.Summary
		if readJSONFile(filepath.Join(dir, SummaryFile), &s) == nil {
			for _, g := range s.Groups {
				info.Requests += g.Requests
				info.Succeeded += g.Succeeded
			}
			info.Winner = s.Winner()
		}
		runs = append(runs, info)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].StartedAt.Equal(runs[j].StartedAt) {
			return runs[i].StartedAt.After(runs[j].StartedAt)
		}
		return runs[i].ID > runs[j].ID
	})
	return runs, nil
}
