package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

var unsafeName = regexp.MustCompile(`[^a-z0-9_-]+`)

// createRunFolder makes OUTPUT_DIR/test_{name}_{YYYYMMDD}_{HHMMSS}. Two runs
// in the same second get a numeric suffix rather than sharing a folder.
func createRunFolder(outputDir, name string, at time.Time) (string, string, error) {
	slug := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if slug == "" {
		slug = "llmbench"
	}
	base := fmt.Sprintf("test_%s_%s", slug, at.Format("20060102_150405"))
	if err := os.MkdirAll(outputDir, 0o755); err != nil {
		return "", "", fmt.Errorf("--output-dir %s: %w", outputDir, err)
	}
	id := base
	for i := 2; ; i++ {
		dir := filepath.Join(outputDir, id)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, id, nil
		}
		if !os.IsExist(err) || i > 100 {
			return "", "", fmt.Errorf("creating run folder %s: %w", dir, err)
		}
		id = fmt.Sprintf("%s_%d", base, i)
	}
}

func newManifest(runID string, o *RunOptions, clock engine.Clock) *export.Manifest {
	host, _ := os.Hostname()
	m := &export.Manifest{Tool: "kubectl-llmbench", ToolVersion: Version(), RunID: runID, Status: "running",
		Command:   redactArgs(os.Args),
		StartedAt: clock.Anchor().UTC().Format(time.RFC3339Nano),
		Host:      export.HostInfo{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Config:    o.cfg, Scenarios: o.scenarios, Parallel: o.parallel}
	for _, t := range o.resolved {
		m.Targets = append(m.Targets, load.TargetStatus{Target: t})
	}
	return m
}

func finishManifest(m *export.Manifest, res load.RunResult) {
	m.Status = res.Status
	m.Targets = res.Targets
	m.EndedAt = time.Unix(0, res.EndUnixNS).UTC().Format(time.RFC3339Nano)
	if res.InterruptedUnixNS != 0 {
		m.InterruptedAt = time.Unix(0, res.InterruptedUnixNS).UTC().Format(time.RFC3339Nano)
	}
}

// redactArgs keeps the command reproducible without the API key.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		out[i] = engine.RedactURL(out[i])
	}
	for i, a := range out {
		switch {
		case (a == "--api-key" || a == "--token") && i+1 < len(out):
			out[i+1] = "REDACTED"
		case strings.HasPrefix(a, "--api-key="), strings.HasPrefix(a, "--token="):
			k, _, _ := strings.Cut(a, "=")
			out[i] = k + "=REDACTED"
		}
	}
	return out
}
