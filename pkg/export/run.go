package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
)

// Files of a run folder.
const (
	ManifestFile = "manifest.json"
	SummaryFile  = "summary.json"
)

// Manifest describes a run: what was asked, of whom, from where, and how it
// ended. It is written at the start (status running) and again at the end.
type Manifest struct {
	Tool        string               `json:"tool"`
	ToolVersion string               `json:"tool_version"`
	RunID       string               `json:"run_id"`
	Status      string               `json:"status"`
	Command     []string             `json:"command"`
	StartedAt   string               `json:"started_at"`
	EndedAt     string               `json:"ended_at,omitempty"`
	Host        HostInfo             `json:"host"`
	Config      bench.Config         `json:"config"`
	Scenarios   []bench.Scenario     `json:"scenarios"`
	Targets     []bench.TargetStatus `json:"targets"`
	Parallel    bool                 `json:"parallel"`
	// Cluster is where discovered engines ran and how they were reached;
	// absent for explicit URLs and the simulator.
	Cluster *cluster.Info `json:"cluster,omitempty"`
	// Baseline is the run folder given with --baseline; report compares
	// with it again unless told otherwise.
	Baseline string `json:"baseline,omitempty"`
}

// HostInfo is the machine the client ran on.
type HostInfo struct {
	Hostname  string `json:"hostname"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// Goals maps each scenario to its target, as Summarize needs it.
func (m Manifest) Goals() map[string]*bench.Goal {
	goals := map[string]*bench.Goal{}
	for _, s := range m.Scenarios {
		goals[s.Name] = s.Target
	}
	return goals
}

// Run is everything a report needs, rebuilt from a run folder's manifest
// and journal alone.
type Run struct {
	Dir      string
	Manifest Manifest
	Records  []bench.Record
	Summary  bench.Summary
	// JournalWarning reports a damaged journal line (a crash mid-write);
	// the records before and after it are still used.
	JournalWarning error
	// Baseline, when set, is this run compared with an earlier one; the
	// reports add it and the json format writes comparison.json.
	Baseline *bench.RunDiff

	// The figures are drawn once per run and shared by the Markdown, HTML
	// and PDF writers (chart.go, runCharts).
	chartsOnce sync.Once
	charts     []Chart
	chartsErr  error
}

// LoadRun reads a run folder and recomputes the summary from the journal,
// so every report derives from the per-request records and nothing else.
func LoadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	if err := readJSONFile(filepath.Join(dir, ManifestFile), &r.Manifest); err != nil {
		return nil, fmt.Errorf("%s is not a run folder: %w", dir, err)
	}
	f, err := os.Open(filepath.Join(dir, JournalFile))
	if err != nil {
		return nil, fmt.Errorf("run %s has no journal: %w", dir, err)
	}
	defer f.Close()
	r.Records, r.JournalWarning = ReadJournal(f)
	var fatal *JournalReadError
	if errors.As(r.JournalWarning, &fatal) {
		return nil, r.JournalWarning
	}
	obj := bench.ObjectivesOf(r.Manifest.Scenarios)
	obj.Weights, _ = r.Manifest.Config.RankWeights() // defaults if unreadable
	r.Summary = bench.SummarizeWith(r.Manifest.RunID, r.Records, obj)
	return r, nil
}
