package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// Files of a run folder.
const (
	ManifestFile = "manifest.json"
	SummaryFile  = "summary.json"
)

// Manifest describes a run: what was asked, of whom, from where, and how it
// ended. It is written at the start (status running) and again at the end.
type Manifest struct {
	Tool        string   `json:"tool"`
	ToolVersion string   `json:"tool_version"`
	RunID       string   `json:"run_id"`
	Status      string   `json:"status"`
	Command     []string `json:"command"`
	StartedAt   string   `json:"started_at"`
	EndedAt     string   `json:"ended_at,omitempty"`
	// InterruptedAt is when an interrupted run saw its stop; no request
	// was sent after it.
	InterruptedAt string              `json:"interrupted_at,omitempty"`
	Host          HostInfo            `json:"host"`
	Config        workload.Config     `json:"config"`
	Scenarios     []workload.Scenario `json:"scenarios"`
	Targets       []load.TargetStatus `json:"targets"`
	Parallel      bool                `json:"parallel"`
	// MetricsScrapes counts, per engine, the scrapes of its own /metrics
	// (metrics.jsonl) and their failures.
	MetricsScrapes map[string]*ScrapeTally `json:"metrics_scrapes,omitempty"`
	// Dataset is what the dataset file held and what was kept of it,
	// when prompts were sampled from one.
	Dataset *workload.Dataset `json:"dataset,omitempty"`
	// Cluster is where discovered engines ran and how they were reached;
	// absent for explicit URLs and the simulator.
	Cluster *placement.Info `json:"cluster,omitempty"`
	// Baseline is the run folder given with --baseline; report compares
	// with it again unless told otherwise.
	Baseline string `json:"baseline,omitempty"`
	// LoadFrom, when set, is where the load came from instead of this
	// machine: workers inside the cluster (run --in-cluster).
	LoadFrom *LoadFrom `json:"load_from,omitempty"`
}

// LoadFrom is a distributed run's load generators.
type LoadFrom struct {
	// Where is said in the reports: "inside the cluster".
	Where     string       `json:"where"`
	Namespace string       `json:"namespace"`
	Job       string       `json:"job"`
	Image     string       `json:"image"`
	Workers   []LoadWorker `json:"workers"`
}

// LoadWorker is one load generator of a distributed run, as it ended.
type LoadWorker struct {
	Index int    `json:"index"`
	Pod   string `json:"pod"`
	Node  string `json:"node"`
	// State is done, stopped (Ctrl-C), lost (its Pod went away mid-run)
	// or failed (it never ran its part); Error says why.
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
	Records int64  `json:"records"`
	// LateMS is how long after the agreed start it began.
	LateMS      float64 `json:"late_ms"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	WallSeconds float64 `json:"wall_seconds"`
	Cores       int     `json:"cores"`
	// CPUShare is CPUSeconds over the wall time its part ran times
	// Cores; near 1, its own delay is in its numbers (Saturated).
	CPUShare  float64 `json:"cpu_share"`
	Saturated bool    `json:"saturated,omitempty"`
	// Schedule lag of its requests: how late it sent them.
	LagP50MS float64 `json:"schedule_lag_p50_ms"`
	LagP99MS float64 `json:"schedule_lag_p99_ms"`
	// SharesNodeWith lists the engines running on its node.
	SharesNodeWith []string `json:"shares_node_with,omitempty"`
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
func (m Manifest) Goals() map[string]*workload.Goal {
	goals := map[string]*workload.Goal{}
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
	// Records are the requests of a run built in memory (tests, fixtures).
	// LoadRun leaves them empty: writers stream the journal in Dir, so a
	// report never holds a long run's requests.
	Records []engine.Record
	Summary verdict.Summary
	// samples are the run's per-group distributions, for comparisons;
	// see Samples.
	samples *summary.Summarizer
	// JournalWarning reports a damaged journal line (a crash mid-write);
	// the records before and after it are still used.
	JournalWarning error
	// MetricsWarning reports a damaged or unreadable metrics.jsonl: the
	// engine-side figures may be missing, the client's are whole.
	MetricsWarning error
	// Baseline, when set, is this run compared with an earlier one; the
	// reports add it and the json format writes comparison.json.
	Baseline *verdict.RunDiff

	// The figures are drawn once per run and shared by the Markdown, HTML
	// and PDF writers (chart.go, runCharts).
	chartsOnce sync.Once
	charts     []chart
	chartsErr  error
	// chartData is what the charts were drawn from, kept for report.html's
	// interactive charts (chart_interactive.go, runInteractive).
	chartData       *chartData
	interactiveOnce sync.Once
	interactive     *interactiveData
	interactiveErr  error
}

// LoadRun reads a run folder and recomputes the summary from the journal,
// so every report derives from the per-request records and nothing else.
// The journal is streamed: memory follows the run's groups, not its
// requests.
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
	r.samples = summary.NewSummarizer(r.Manifest.RunID, r.objectives())
	recon := reconcile.NewBuilder()
	r.JournalWarning = scanJournal(f, func(rec *engine.Record) {
		r.samples.Add(rec)
		_ = recon.Write(rec)
	})
	var fatal *journalReadError
	if errors.As(r.JournalWarning, &fatal) {
		return nil, r.JournalWarning
	}
	r.Summary = verdict.SummaryOf(r.samples)
	scrapes, err := LoadMetricsJournal(dir)
	if err != nil {
		r.MetricsWarning = err
	}
	if len(scrapes) > 0 {
		r.Summary.AddEngineMetrics(recon.Windows(scrapes))
	}
	return r, nil
}

func (r *Run) objectives() summary.Objectives {
	obj := summary.ObjectivesOf(r.Manifest.Scenarios)
	obj.Weights, _ = r.Manifest.Config.RankWeights() // defaults if unreadable
	return obj
}

// Samples holds the run's distributions per engine × scenario, as
// CompareSummarizers reads them: from the journal for a loaded run, from
// Records for one built in memory.
func (r *Run) Samples() *summary.Summarizer {
	if r.samples == nil {
		r.samples = summary.SummarizerOf(r.Manifest.RunID, r.Records, r.objectives())
	}
	return r.samples
}

// ReadRecords reads every record of the run into memory; for tests and
// small runs only (writers stream with runRecords).
func (r *Run) ReadRecords() ([]engine.Record, error) {
	if r.Dir == "" {
		return r.Records, nil
	}
	f, err := os.Open(filepath.Join(r.Dir, JournalFile))
	if err != nil {
		return nil, fmt.Errorf("run %s has no journal: %w", r.Dir, err)
	}
	defer f.Close()
	recs, err := readJournal(f)
	var fatal *journalReadError
	if errors.As(err, &fatal) {
		return nil, err
	}
	return recs, nil
}
